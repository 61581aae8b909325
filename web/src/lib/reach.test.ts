import { describe, expect, it } from 'vitest';
import type { FamilyRead } from './api';
import { plural, setLang } from './i18n.svelte';
import { classLine, compareClasses, reachByClass, reachTotal, received, receivedText } from './reach';

/** A family of `unit`: its guardians as [joined, read, acked]; the family reads and acknowledges when one of them does. */
function family(unit: string, student: string, ...guardians: [boolean, boolean, boolean][]): FamilyRead {
  const list = guardians.map(([joined, read, acked], i) => ({ name: `${student} (родитель ${i + 1})`, joined, read, acked }));
  return { unit, student, guardians: list, read: list.some((g) => g.read), acked: list.some((g) => g.acked) };
}

const families: FamilyRead[] = [
  family('10А', 'Орлов', [true, true, false]),
  family('5Б', 'Иванов', [false, false, false], [true, true, true]),
  family('5Б', 'Петрова', [true, false, false]),
  family('5Б', 'Фёдоров'),
  family('1А', 'Ким', [false, false, false]),
  family('11Б', 'Абдуллаев', [true, true, true]),
  family('5Б', 'Салимов', [false, false, false]),
];

describe('received', () => {
  it('is when at least one guardian has joined', () => {
    expect(received(families[1])).toBe(true);
    expect(received(families[2])).toBe(true);
    expect(received(families[4])).toBe(false);
  });

  it('is not for a family with no guardian on the roster', () => {
    expect(received(families[3])).toBe(false);
  });
});

describe('the tallies', () => {
  it('count every family together', () => {
    expect(reachTotal(families)).toEqual({ unit: '', families: 7, received: 4, read: 3, acked: 2 });
  });

  it('count nothing in no families', () => {
    expect(reachTotal([])).toEqual({ unit: '', families: 0, received: 0, read: 0, acked: 0 });
    expect(reachByClass([])).toEqual([]);
  });

  it('count each class, in the order a school lists them', () => {
    expect(reachByClass(families)).toEqual([
      { unit: '1А', families: 1, received: 0, read: 0, acked: 0 },
      { unit: '5Б', families: 4, received: 2, read: 1, acked: 1 },
      { unit: '10А', families: 1, received: 1, read: 1, acked: 0 },
      { unit: '11Б', families: 1, received: 1, read: 1, acked: 1 },
    ]);
  });
});

describe('the order of classes', () => {
  it('compares the numbers in their names as numbers', () => {
    expect(['11Б', '10А', '5Б', '1А', '5А', '10Б'].sort(compareClasses)).toEqual(['1А', '5А', '5Б', '10А', '10Б', '11Б']);
  });

  it('keeps names that differ only in case apart', () => {
    expect(compareClasses('5б', '5Б')).not.toBe(0);
    expect(compareClasses('Кружок', 'Кружок')).toBe(0);
  });
});

describe('the texts', () => {
  it('are in Russian', () => {
    setLang('ru');
    const [, fiveB] = reachByClass(families);
    expect(classLine(fiveB, true)).toBe('5Б: получили 2 из 4 · прочитали 1 · ознакомились 1');
    expect(classLine(fiveB, false)).toBe('5Б: получили 2 из 4 · прочитали 1');
    expect(receivedText({ unit: '', families: 30, received: 28, read: 0, acked: 0 })).toBe('получили 28 из 30 семей');
  });

  it('say «из 21 семьи» and «из 2 семей»', () => {
    expect(plural('ru', 'ofFamilies', 1)).toBe('из 1 семьи');
    expect(plural('ru', 'ofFamilies', 2)).toBe('из 2 семей');
    expect(plural('ru', 'ofFamilies', 5)).toBe('из 5 семей');
    expect(plural('ru', 'ofFamilies', 11)).toBe('из 11 семей');
    expect(plural('ru', 'ofFamilies', 21)).toBe('из 21 семьи');
  });

  it('are in English', () => {
    setLang('en');
    const [, fiveB] = reachByClass(families);
    expect(classLine(fiveB, true)).toBe('5Б: 2 of 4 received · 1 read · 1 acknowledged');
    expect(classLine(fiveB, false)).toBe('5Б: 2 of 4 received · 1 read');
    expect(receivedText({ unit: '', families: 1, received: 1, read: 0, acked: 0 })).toBe('1 of 1 family received it');
    expect(receivedText({ unit: '', families: 9, received: 1, read: 0, acked: 0 })).toBe('1 of 9 families received it');
    setLang('ru');
  });
});
