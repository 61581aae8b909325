import { describe, expect, it } from 'vitest';
import { localDateTime, percentages, pollProblem } from './poll';

describe('poll percentages', () => {
  it('are shares of the voters', () => {
    expect(percentages([1, 3], 4)).toEqual([25, 75]);
    expect(percentages([0, 0, 0], 0)).toEqual([0, 0, 0]);
    expect(percentages([2, 0], 2)).toEqual([100, 0]);
  });

  it('add up to 100 in a single-choice poll', () => {
    expect(percentages([1, 1, 1], 3)).toEqual([34, 33, 33]);
    expect(percentages([1, 2], 3)).toEqual([33, 67]);
    expect(percentages([2, 2, 2, 1], 7)).toEqual([29, 29, 28, 14]);
    for (const counts of [[1, 1, 1, 1, 1, 1], [5, 3, 3], [1, 0, 6]]) {
      const voters = counts.reduce((a, b) => a + b, 0);
      expect(percentages(counts, voters).reduce((a, b) => a + b, 0)).toBe(100);
    }
  });

  it('stand alone when voters choose several options', () => {
    // Two voters, both chose the first, one also the second.
    expect(percentages([2, 1], 2)).toEqual([100, 50]);
    expect(percentages([1, 1, 1], 2)).toEqual([50, 50, 50]);
  });
});

describe('checking a new poll', () => {
  const now = 1_000_000;
  it('passes a good one', () => {
    expect(pollProblem('Когда собрание?', ['Вторник', 'Четверг'], null, now)).toBeNull();
    expect(pollProblem('Когда?', ['А', 'Б'], now + 60_000, now)).toBeNull();
  });

  it('explains what is wrong', () => {
    expect(pollProblem('  ', ['А', 'Б'], null, now)).toBe('pollNeedQuestion');
    expect(pollProblem('Вопрос', ['А'], null, now)).toBe('pollNeedOptions');
    expect(pollProblem('Вопрос', Array.from({ length: 11 }, (_, i) => `${i}`), null, now)).toBe('pollNeedOptions');
    expect(pollProblem('Вопрос', ['А', ' '], null, now)).toBe('pollEmptyOption');
    expect(pollProblem('Вопрос', ['А', 'я'.repeat(101)], null, now)).toBe('pollLongOption');
    expect(pollProblem('Вопрос', ['А', 'я'.repeat(100)], null, now)).toBeNull();
    expect(pollProblem('Вопрос', ['Да', ' да '], null, now)).toBe('pollSameOptions');
    expect(pollProblem('Вопрос', ['А', 'Б'], now, now)).toBe('pollPastDeadline');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(pollProblem('Вопрос', ['А', '🙂'.repeat(100)], null, now)).toBeNull();
  });
});

describe('the deadline field', () => {
  it('reads a local date and time', () => {
    expect(localDateTime('')).toBeNull();
    expect(localDateTime('nonsense')).toBeNull();
    expect(localDateTime('2026-03-12T18:00')).toBe(new Date(2026, 2, 12, 18, 0).getTime());
  });
});
