//! Year-end rollover: every class moves up a grade ("5Б" → "6Б"), and the final grade leaves.
//!
//! A class's grade is the number its name starts with; names without one ("Кружок робототехники")
//! stay as they are. Leavers keep their history under a name that says so ("11А (выпуск 2027)"),
//! which frees their old name for the class moving up into it.

use std::collections::BTreeSet;

use kolokol_proto::ErrorCode;

use crate::Rejection;

/// What a rollover does, in an order that never gives two current classes one name: leavers
/// are renamed first, then classes move, highest grade first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollover {
    /// (old name, new name), highest grade first.
    pub moves: Vec<(String, String)>,
    /// (old name, name kept in the archive).
    pub leavers: Vec<(String, String)>,
    /// Names without a grade, left as they are.
    pub untouched: Vec<String>,
}

fn grade_of(name: &str) -> Option<(u32, &str)> {
    let digits = name.len() - name.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let grade = name[..digits].parse().ok()?;
    Some((grade, &name[digits..]))
}

/// Plans the rollover of current classes `names` in school year ending `year`, `final_grade`
/// being the grade that leaves (11 in Russian schools); `archived` are the names of classes
/// archived before, which no class may take.
pub fn plan(
    names: &[String],
    archived: &[String],
    final_grade: u32,
    year: i32,
) -> Result<Rollover, Rejection> {
    if !(1..=12).contains(&final_grade) {
        return Err(Rejection::new(
            ErrorCode::BadRequest,
            "the final grade is 1 to 12",
        ));
    }
    let mut rollover = Rollover::default();
    let mut graded = Vec::new();
    for name in names {
        match grade_of(name) {
            Some((grade, _)) if grade >= final_grade => rollover
                .leavers
                .push((name.clone(), format!("{name} (выпуск {year})"))),
            Some((grade, letter)) => {
                graded.push((grade, name.clone(), format!("{}{letter}", grade + 1)));
            }
            None => rollover.untouched.push(name.clone()),
        }
    }
    graded.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rollover.moves = graded.into_iter().map(|(_, from, to)| (from, to)).collect();
    // A class may move onto a name only a leaver or a moving class frees.
    let freed: BTreeSet<&str> = rollover
        .leavers
        .iter()
        .map(|(from, _)| from.as_str())
        .chain(rollover.moves.iter().map(|(from, _)| from.as_str()))
        .collect();
    let all: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let kept: BTreeSet<&str> = archived.iter().map(String::as_str).collect();
    for (from, to) in rollover.moves.iter().chain(&rollover.leavers) {
        if (all.contains(to.as_str()) && !freed.contains(to.as_str())) || kept.contains(to.as_str())
        {
            return Err(Rejection::new(
                ErrorCode::BadRequest,
                format!("{from} cannot become {to}: a class of that name is kept"),
            ));
        }
    }
    Ok(rollover)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|&name| name.to_owned()).collect()
    }

    #[test]
    fn classes_move_up_and_the_final_grade_leaves() {
        let rollover = plan(&names(&["5Б", "10А", "11А", "1А", "Кружок"]), &[], 11, 2027).unwrap();
        assert_eq!(
            rollover.leavers,
            [("11А".to_owned(), "11А (выпуск 2027)".to_owned())]
        );
        let moves: Vec<(&str, &str)> = rollover
            .moves
            .iter()
            .map(|(from, to)| (from.as_str(), to.as_str()))
            .collect();
        assert_eq!(moves, [("10А", "11А"), ("5Б", "6Б"), ("1А", "2А")]);
        assert_eq!(rollover.untouched, ["Кружок"]);
    }

    #[test]
    fn archived_names_stay_taken_so_a_year_rolls_over_once() {
        let archived = names(&["11А (выпуск 2027)", "6Б"]);
        assert!(plan(&names(&["11А"]), &archived, 11, 2027).is_err());
        assert!(plan(&names(&["5Б"]), &archived, 11, 2027).is_err());
        assert!(plan(&names(&["5Б"]), &[], 0, 2027).is_err());
    }

    proptest! {
        /// Applied in order (leavers, then moves), no step gives two classes one name.
        #[test]
        fn no_step_collides(grades in proptest::collection::btree_set((1u32..12, "[АБВ]"), 0..12)) {
            let names: Vec<String> = grades.iter().map(|(grade, letter)| format!("{grade}{letter}")).collect();
            let rollover = plan(&names, &[], 11, 2027).unwrap();
            let mut current: BTreeSet<String> = names.iter().cloned().collect();
            for (from, to) in rollover.leavers.iter().chain(&rollover.moves) {
                prop_assert!(current.remove(from));
                prop_assert!(current.insert(to.clone()), "{to} taken when {from} moved");
            }
            prop_assert_eq!(current.len(), names.len());
        }
    }
}
