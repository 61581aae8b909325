// How far a message got, counted by families: for the «Кто прочитал» panel of a class's parents'
// chat and of the school's announcement channel (one line per class there).

import type { FamilyRead } from './api';
import { count, tf } from './i18n.svelte';

/** A group of families (one class, or all of them) and how many of them the message reached. */
export interface FamilyTally {
  /** The class's name; '' for the whole. */
  unit: string;
  families: number;
  /** Families with at least one guardian in the chat: the message got to them. */
  received: number;
  read: number;
  acked: number;
}

/** Whether the message got to the family at all: one of its guardians has joined (has an account in the chat). */
export function received(family: FamilyRead): boolean {
  return family.guardians.some((guardian) => guardian.joined);
}

function tally(unit: string, families: readonly FamilyRead[]): FamilyTally {
  return {
    unit,
    families: families.length,
    received: families.filter(received).length,
    read: families.filter((family) => family.read).length,
    acked: families.filter((family) => family.acked).length,
  };
}

/** All the families together. */
export function reachTotal(families: readonly FamilyRead[]): FamilyTally {
  return tally('', families);
}

// Numbers inside names compare as numbers: 1А < 5Б < 10А < 11Б, not 10А < 11Б < 1А.
const classOrder = new Intl.Collator('ru', { numeric: true, sensitivity: 'base' });

/** Class names in the order a school lists them: 1А < 5Б < 10А < 11Б. */
export function compareClasses(a: string, b: string): number {
  return classOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** One tally per class, in the school's order. */
export function reachByClass(families: readonly FamilyRead[]): FamilyTally[] {
  const byUnit = new Map<string, FamilyRead[]>();
  for (const family of families) {
    const group = byUnit.get(family.unit);
    if (group) group.push(family);
    else byUnit.set(family.unit, [family]);
  }
  return [...byUnit.keys()].sort(compareClasses).map((unit) => tally(unit, byUnit.get(unit)!));
}

/** «получили 28 из 30 семей», for the panel's summary line. */
export function receivedText(total: FamilyTally): string {
  return tf('familiesReceived', { n: total.received, of: count('ofFamilies', total.families) });
}

/** «5Б: получили 28 из 30 · прочитали 21 · ознакомились 15» (the last part when an acknowledgement was asked). */
export function classLine(tally: FamilyTally, ackRequested: boolean): string {
  const values = { unit: tally.unit, received: tally.received, total: tally.families, read: tally.read, acked: tally.acked };
  return tf(ackRequested ? 'reachClassAck' : 'reachClass', values);
}
