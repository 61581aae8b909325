// The verified staff badge: what the school's roster says a member is, in words. The badge
// comes only from the roster (imported by the school's admins), never from a display name.

import type { StaffBadge } from './api';
import { tf } from './i18n.svelte';

export interface StaffLabels {
  /** Next to a name: «Классный руководитель 5Б», or «Учитель · Школа №1234». */
  short: string;
  /** In the member list: «Школа №1234 · классный руководитель 5Б (литература); учитель 6А (математика)». */
  full: string;
  /** Why it can be trusted. */
  why: string;
}

export function staffLabels(staff: StaffBadge): StaffLabels {
  const leading = staff.places.filter((place) => place.role === 'class_teacher').map((place) => place.unit);
  const short = leading.length
    ? tf('staffClassTeacher', { units: [...new Set(leading)].join(', ') })
    : tf('staffTeacher', { org: staff.org });
  const places = staff.places.map((place) => {
    const name = tf(place.role === 'class_teacher' ? 'staffPlaceClassTeacher' : 'staffPlaceTeacher', { unit: place.unit }).trim();
    return place.detail ? tf('staffPlaceDetail', { place: name, detail: place.detail }) : name;
  });
  const full = places.length ? `${staff.org} · ${places.join('; ')}` : staff.org;
  return { short, full, why: tf('staffWhy', { org: staff.org }) };
}

/** A label for screen readers and tooltips: the badge and why it can be trusted. */
export function staffTitle(staff: StaffBadge): string {
  const labels = staffLabels(staff);
  return `${labels.full}. ${labels.why}`;
}

