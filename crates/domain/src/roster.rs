//! School rosters: reading a roster file into the organisation it describes.
//!
//! A roster is a CSV file (UTF-8, a header row, `,` or `;` between fields) with one row per
//! person in a class: `role,class,name,child,subjects`, and optionally `id`. The result is a
//! [`Roster`]: the classes, and each person with the places they hold. Storing it replaces the
//! organisation's previous roster, matched person by person on [`RosterPerson::key`], so a
//! re-import adds, moves and archives but never duplicates.
//!
//! Names are not unique in real life, so the rule is: a person is their `id` when the file
//! has one, and otherwise their full name (case, `ё`/`е` and spacing ignored). One name is one
//! adult across the whole school (a teacher who is also a parent is one person); one name is one
//! student. What this cannot resolve — the same student in two classes, a name that is both a
//! student and an adult, a guardian whose child is not in that class — is an error naming the
//! lines, and a file with any error imports nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kolokol_proto::RosterProblem;

/// Longest class name, in characters ("11 физ-мат" fits).
pub const MAX_UNIT_NAME: usize = 32;
/// Longest full name, in characters.
pub const MAX_PERSON_NAME: usize = 128;
/// Most rows a roster may have: a large school with its families.
pub const MAX_ROWS: usize = 20_000;

/// What a person is in a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RosterRole {
    Student,
    Guardian,
    ClassTeacher,
    Teacher,
}

impl RosterRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RosterRole::Student => "student",
            RosterRole::Guardian => "guardian",
            RosterRole::ClassTeacher => "class_teacher",
            RosterRole::Teacher => "teacher",
        }
    }

    pub fn parse(text: &str) -> Option<RosterRole> {
        Some(match text {
            "student" => RosterRole::Student,
            "guardian" => RosterRole::Guardian,
            "class_teacher" => RosterRole::ClassTeacher,
            "teacher" => RosterRole::Teacher,
            _ => return None,
        })
    }

    /// Staff hold their places as employees of the school; families as its clients.
    pub fn is_staff(self) -> bool {
        matches!(self, RosterRole::ClassTeacher | RosterRole::Teacher)
    }
}

/// One place a person holds: a role in a class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub unit: String,
    pub role: RosterRole,
    /// A guardian's child (the student's key); a teacher's subjects, joined by "; ".
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPerson {
    /// What identifies the person across imports: `id:<id>` or `name:<normalised name>`.
    pub key: String,
    /// The full name as the file first gives it.
    pub name: String,
    pub student: bool,
    pub places: BTreeSet<Place>,
}

/// The organisation a roster file describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub units: BTreeSet<String>,
    /// By key.
    pub people: BTreeMap<String, RosterPerson>,
}

/// Why a roster line was refused. Line 1 is the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub problem: RosterProblem,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// The key of a person with this `id` (if the file has one) and name.
pub fn person_key(id: Option<&str>, name: &str) -> String {
    match id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => format!("id:{id}"),
        None => format!(
            "name:{}",
            normalise_name(name).to_lowercase().replace('ё', "е")
        ),
    }
}

/// Trims and collapses runs of spaces: "Иванов  Артём " → "Иванов Артём".
fn normalise_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One row as read, before the rows are checked against each other.
struct Row {
    line: u64,
    role: RosterRole,
    unit: String,
    name: String,
    key: String,
    child: String,
    subjects: String,
}

/// Reads a roster file. Any error refuses the whole file: all errors are returned, in line order.
pub fn parse(bytes: &[u8]) -> Result<Roster, Vec<RowError>> {
    let (rows, mut errors) = read_rows(bytes);
    // The rows that read well are still checked against each other, so one pass shows all.
    match assemble(&rows) {
        Ok(roster) if errors.is_empty() => Ok(roster),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|error| error.line);
            Err(errors)
        }
    }
}

/// The rows that read well, and the errors of the others.
fn read_rows(bytes: &[u8]) -> (Vec<Row>, Vec<RowError>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let header_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    // Spreadsheets set to Russian save CSV with semicolons.
    let delimiter = if !header_line.contains(&b',') && header_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header_error = |problem| (Vec::new(), vec![RowError { line: 1, problem }]);
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return header_error(csv_problem(&error)),
    };
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.trim().eq_ignore_ascii_case(name))
    };
    let (Some(role_at), Some(unit_at), Some(name_at)) =
        (column("role"), column("class"), column("name"))
    else {
        return header_error(RosterProblem::Header);
    };
    let (child_at, subjects_at, id_at) = (column("child"), column("subjects"), column("id"));

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |at| at.line());
                errors.push(RowError {
                    line,
                    problem: csv_problem(&error),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |at| at.line());
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(RowError {
                line,
                problem: RosterProblem::TooManyRows {
                    limit: MAX_ROWS as u64,
                },
            });
            break;
        }
        let field = |at: Option<usize>| {
            at.and_then(|at| record.get(at))
                .map(normalise_name)
                .unwrap_or_default()
        };
        let mut refuse = |problem| errors.push(RowError { line, problem });
        let role_text = field(Some(role_at));
        let Some(role) = RosterRole::parse(&role_text.to_lowercase()) else {
            refuse(RosterProblem::UnknownRole { role: role_text });
            continue;
        };
        let unit = field(Some(unit_at));
        let name = field(Some(name_at));
        let child = field(child_at);
        let subjects = field(subjects_at)
            .split(';')
            .map(str::trim)
            .filter(|subject| !subject.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if unit.is_empty() {
            refuse(RosterProblem::ClassEmpty);
        } else if unit.chars().count() > MAX_UNIT_NAME {
            refuse(RosterProblem::ClassTooLong {
                limit: MAX_UNIT_NAME as u64,
            });
        } else if name.is_empty() {
            refuse(RosterProblem::NameEmpty);
        } else if name.chars().count() > MAX_PERSON_NAME {
            refuse(RosterProblem::NameTooLong {
                limit: MAX_PERSON_NAME as u64,
            });
        } else if role == RosterRole::Guardian && child.is_empty() {
            refuse(RosterProblem::GuardianWithoutChild);
        } else if role != RosterRole::Guardian && !child.is_empty() {
            refuse(RosterProblem::OnlyGuardiansHaveChild);
        } else if !role.is_staff() && !subjects.is_empty() {
            refuse(RosterProblem::OnlyTeachersHaveSubjects);
        } else {
            let key = person_key(id_at.and_then(|at| record.get(at)), &name);
            rows.push(Row {
                line,
                role,
                unit,
                name,
                key,
                child,
                subjects,
            });
        }
    }
    (rows, errors)
}

fn csv_problem(error: &csv::Error) -> RosterProblem {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => RosterProblem::NotUtf8,
        csv::ErrorKind::Io(_) => RosterProblem::Unreadable,
        _ => RosterProblem::BadCsv,
    }
}

/// Checks the rows against each other and builds the roster.
fn assemble(rows: &[Row]) -> Result<Roster, Vec<RowError>> {
    let mut errors = Vec::new();
    // Where each key was first seen as a student and as an adult.
    let mut student_at: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    let mut adult_at: BTreeMap<&str, u64> = BTreeMap::new();
    for row in rows {
        if row.role == RosterRole::Student {
            match student_at.get(row.key.as_str()) {
                Some(&(unit, line)) if unit != row.unit => errors.push(RowError {
                    line: row.line,
                    problem: RosterProblem::StudentInTwoClasses {
                        name: row.name.clone(),
                        unit: unit.into(),
                        other_line: line,
                    },
                }),
                Some(_) => {}
                None => {
                    student_at.insert(&row.key, (&row.unit, row.line));
                }
            }
        } else {
            adult_at.entry(&row.key).or_insert(row.line);
        }
    }
    for row in rows {
        if row.role == RosterRole::Student
            && let Some(&line) = adult_at.get(row.key.as_str())
        {
            errors.push(RowError {
                line: row.line,
                problem: RosterProblem::StudentAndAdult {
                    name: row.name.clone(),
                    other_line: line,
                },
            });
        }
    }

    let mut roster = Roster::default();
    for row in rows {
        let detail = match row.role {
            RosterRole::Guardian => {
                let child_key = person_key(None, &row.child);
                // The child by name among the students of that class (ids included).
                let mut matches = rows.iter().filter(|other| {
                    other.role == RosterRole::Student
                        && other.unit == row.unit
                        && person_key(None, &other.name) == child_key
                });
                match (matches.next(), matches.next()) {
                    (Some(child), None) => child.key.clone(),
                    (Some(_), Some(_)) => {
                        errors.push(RowError {
                            line: row.line,
                            problem: RosterProblem::AmbiguousChild {
                                child: row.child.clone(),
                                unit: row.unit.clone(),
                            },
                        });
                        continue;
                    }
                    (None, _) => {
                        errors.push(RowError {
                            line: row.line,
                            problem: RosterProblem::ChildNotFound {
                                child: row.child.clone(),
                                unit: row.unit.clone(),
                            },
                        });
                        continue;
                    }
                }
            }
            RosterRole::ClassTeacher | RosterRole::Teacher => row.subjects.clone(),
            RosterRole::Student => String::new(),
        };
        roster.units.insert(row.unit.clone());
        let person = roster
            .people
            .entry(row.key.clone())
            .or_insert_with(|| RosterPerson {
                key: row.key.clone(),
                name: row.name.clone(),
                student: row.role == RosterRole::Student,
                places: BTreeSet::new(),
            });
        person.places.insert(Place {
            unit: row.unit.clone(),
            role: row.role,
            detail,
        });
    }
    if errors.is_empty() {
        Ok(roster)
    } else {
        Err(errors)
    }
}

/// What storing `new` over `old` changes, for the importer's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterChanges {
    pub units_added: Vec<String>,
    pub units_archived: Vec<String>,
    pub people_added: Vec<String>,
    pub people_archived: Vec<String>,
    /// People whose places changed (a student moved class, a teacher took another class).
    pub people_changed: Vec<String>,
}

impl RosterChanges {
    pub fn between(old: &Roster, new: &Roster) -> RosterChanges {
        let names = |roster: &Roster, keys: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            keys.map(|key| roster.people[key].name.clone()).collect()
        };
        RosterChanges {
            units_added: new.units.difference(&old.units).cloned().collect(),
            units_archived: old.units.difference(&new.units).cloned().collect(),
            people_added: names(
                new,
                &mut new
                    .people
                    .keys()
                    .filter(|key| !old.people.contains_key(*key)),
            ),
            people_archived: names(
                old,
                &mut old
                    .people
                    .keys()
                    .filter(|key| !new.people.contains_key(*key)),
            ),
            people_changed: names(
                new,
                &mut new.people.iter().filter_map(|(key, person)| {
                    old.people
                        .get(key)
                        .filter(|before| before.places != person.places)
                        .map(|_| key)
                }),
            ),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.units_added.is_empty()
            && self.units_archived.is_empty()
            && self.people_added.is_empty()
            && self.people_archived.is_empty()
            && self.people_changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const EXAMPLE: &str = include_str!("../../../docs/roster-example.csv");

    fn errors(csv: &str) -> Vec<String> {
        parse(csv.as_bytes())
            .expect_err("the roster should be refused")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn person<'a>(roster: &'a Roster, name: &str) -> &'a RosterPerson {
        &roster.people[&person_key(None, name)]
    }

    #[test]
    fn the_example_roster_reads_with_its_hard_cases() {
        let roster = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(
            roster.units.iter().map(String::as_str).collect::<Vec<_>>(),
            ["5Б", "7А"]
        );
        // A guardian with children in two classes is one person with two places.
        let petrova = person(&roster, "Петрова Екатерина Юрьевна");
        assert_eq!(petrova.places.len(), 2);
        assert!(!petrova.student);
        // A class teacher of 5Б who is a parent in 7А: one person, both places.
        let smirnova = person(&roster, "Смирнова Ольга Викторовна");
        let roles: Vec<_> = smirnova
            .places
            .iter()
            .map(|p| (p.unit.as_str(), p.role))
            .collect();
        assert_eq!(
            roles,
            [
                ("5Б", RosterRole::ClassTeacher),
                ("7А", RosterRole::Guardian)
            ]
        );
        // A teacher in two classes keeps each class's subjects.
        let kuznetsov = person(&roster, "Кузнецов Павел Андреевич");
        let subjects: Vec<_> = kuznetsov.places.iter().map(|p| p.detail.as_str()).collect();
        assert_eq!(subjects, ["математика", "алгебра; геометрия"]);
        // Two guardians of one student; a student with none; ё and hyphens kept as written.
        let ivanov = person_key(None, "Иванов Артём Сергеевич");
        let guardians = roster
            .people
            .values()
            .filter(|p| p.places.iter().any(|place| place.detail == ivanov))
            .count();
        assert_eq!(guardians, 2);
        assert_eq!(
            person(&roster, "Фёдоров Илья Олегович").name,
            "Фёдоров Илья Олегович"
        );
        assert!(
            roster
                .people
                .values()
                .any(|p| p.name == "Соколова-Вейс Анна Михайловна")
        );
        // 25 rows; Кузнецов, Орлова, Петрова and Смирнова hold two places each.
        assert_eq!(roster.people.len(), 21);
    }

    #[test]
    fn names_match_whatever_the_case_spacing_and_yo() {
        assert_eq!(
            person_key(None, " фёдоров  Илья Олегович"),
            person_key(None, "Федоров Илья Олегович")
        );
        assert_ne!(
            person_key(Some("17"), "Фёдоров"),
            person_key(None, "Фёдоров")
        );
    }

    #[test]
    fn semicolons_and_a_byte_order_mark_are_read() {
        let csv = "\u{feff}role;class;name;child;subjects\nstudent;5Б;Иванов Артём;;\n\
                   teacher;5Б;Орлова Наталья;;\"русский; литература\"\n";
        let roster = parse(csv.as_bytes()).unwrap();
        assert_eq!(roster.people.len(), 2);
        assert_eq!(
            person(&roster, "Орлова Наталья")
                .places
                .first()
                .unwrap()
                .detail,
            "русский; литература"
        );
    }

    #[test]
    fn bad_rows_are_refused_with_their_line_numbers() {
        let csv = "role,class,name,child,subjects\n\
                   pupil,5Б,Иванов Артём,,\n\
                   student,,Петров,,\n\
                   guardian,5Б,Иванова Мария,,\n\
                   guardian,5Б,Иванова Мария,Сидоров Пётр,\n\
                   student,5Б,Иванов Артём,,математика\n\
                   student,7А,Ким Виктория,,\n\
                   student,5Б,Ким Виктория,,\n\
                   teacher,5Б,Ким Виктория,,\n";
        assert_eq!(
            errors(csv),
            [
                "line 2: unknown role \"pupil\": use student, guardian, class_teacher or teacher",
                "line 3: the class is empty",
                "line 4: a guardian needs the child's name in the child column",
                "line 5: Сидоров Пётр is not a student in 5Б",
                "line 6: only teachers have subjects",
                "line 7: Ким Виктория is a student here and an adult on line 9; if they are two people, give each an id",
                "line 8: Ким Виктория is already a student in 7А (line 7); if these are two children, give each an id",
                "line 8: Ким Виктория is a student here and an adult on line 9; if they are two people, give each an id",
            ]
        );
    }

    #[test]
    fn ids_tell_apart_people_who_share_a_name() {
        let csv = "role,class,name,child,subjects,id\n\
                   student,5Б,Иванов Артём,,,s1\n\
                   student,7А,Иванов Артём,,,s2\n\
                   guardian,7А,Иванова Мария,Иванов Артём,,g1\n";
        let roster = parse(csv.as_bytes()).unwrap();
        assert_eq!(roster.people.len(), 3);
        assert_eq!(
            roster.people["id:g1"].places.first().unwrap().detail,
            "id:s2"
        );

        let ambiguous = "role,class,name,child,subjects,id\n\
                         student,5Б,Иванов Артём,,,s1\n\
                         student,5Б,Иванов Артём,,,s2\n\
                         guardian,5Б,Иванова Мария,Иванов Артём,,g1\n";
        assert_eq!(
            errors(ambiguous),
            [
                "line 4: two students in 5Б are called Иванов Артём: this row cannot tell which is the child"
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_a_roster_is_refused_at_its_first_line() {
        assert_eq!(
            errors("name,surname\nИван,Иванов\n"),
            [
                "line 1: the first line must name the columns: role,class,name,child,subjects (and optionally id)"
            ]
        );
        let cp1251 = b"role,class,name\nstudent,5\xc1,\xc8\xe2\xe0\xed\n";
        assert_eq!(
            parse(cp1251).unwrap_err()[0].problem,
            RosterProblem::NotUtf8
        );
    }

    #[test]
    fn changes_name_what_a_reimport_adds_moves_and_archives() {
        let before = parse(EXAMPLE.as_bytes()).unwrap();
        assert!(RosterChanges::between(&before, &before).is_empty());
        let moved = EXAMPLE
            .replace(
                "student,5Б,Фёдоров Илья Олегович",
                "student,7А,Фёдоров Илья Олегович",
            )
            .replace("student,7А,Морозова Дарья Андреевна,,\n", "")
            .replace(
                "guardian,7А,Смирнова Ольга Викторовна,Морозова Дарья Андреевна,\n",
                "",
            )
            + "student,8В,Новиков Лев Ильич,,\n";
        let after = parse(moved.as_bytes()).unwrap();
        let changes = RosterChanges::between(&before, &after);
        assert_eq!(changes.units_added, ["8В"]);
        assert_eq!(changes.people_added, ["Новиков Лев Ильич"]);
        assert_eq!(changes.people_archived, ["Морозова Дарья Андреевна"]);
        let mut changed = changes.people_changed.clone();
        changed.sort();
        assert_eq!(
            changed,
            ["Смирнова Ольга Викторовна", "Фёдоров Илья Олегович"]
        );
    }

    proptest! {
        /// Row order and blank lines never change what a roster means.
        #[test]
        fn row_order_does_not_matter(seed in any::<u64>()) {
            let mut lines: Vec<&str> = EXAMPLE.lines().skip(1).collect();
            let mut state = seed;
            for i in (1..lines.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                lines.swap(i, (state >> 33) as usize % (i + 1));
            }
            let shuffled = format!("role,class,name,child,subjects\n\n{}\n", lines.join("\n"));
            let original = parse(EXAMPLE.as_bytes()).unwrap();
            let reread = parse(shuffled.as_bytes()).unwrap();
            prop_assert_eq!(original.units, reread.units);
            prop_assert_eq!(
                original.people.values().map(|p| (&p.key, &p.places)).collect::<Vec<_>>(),
                reread.people.values().map(|p| (&p.key, &p.places)).collect::<Vec<_>>()
            );
        }

        /// Arbitrary bytes are refused or read, never a panic.
        #[test]
        fn any_bytes_are_handled(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }
    }
}
