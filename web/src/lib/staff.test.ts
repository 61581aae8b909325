import { describe, expect, it } from 'vitest';
import type { StaffBadge } from './api';
import { setLang } from './i18n.svelte';
import { staffLabels } from './staff';

const classTeacher: StaffBadge = {
  org_id: 1, org: 'Школа №1234',
  places: [
    { unit: '5Б', role: 'class_teacher', detail: 'русский язык; литература' },
    { unit: '6А', role: 'teacher', detail: 'литература' },
  ],
};
const teacher: StaffBadge = { org_id: 1, org: 'Школа №1234', places: [{ unit: '5Б', role: 'teacher', detail: 'математика' }] };

describe('the staff badge', () => {
  it('names a class teacher by her class', () => {
    setLang('ru');
    const labels = staffLabels(classTeacher);
    expect(labels.short).toBe('Классный руководитель 5Б');
    expect(labels.full).toBe('Школа №1234 · классный руководитель 5Б (русский язык; литература); учитель 6А (литература)');
    expect(labels.why).toContain('Подтверждено школой «Школа №1234»');
  });

  it('names a teacher by the school', () => {
    setLang('ru');
    expect(staffLabels(teacher).short).toBe('Учитель · Школа №1234');
    expect(staffLabels(teacher).full).toBe('Школа №1234 · учитель 5Б (математика)');
  });

  it('lists every class a class teacher leads, once', () => {
    setLang('ru');
    const two: StaffBadge = { ...classTeacher, places: [
      { unit: '5Б', role: 'class_teacher', detail: '' }, { unit: '7А', role: 'class_teacher', detail: '' },
    ] };
    expect(staffLabels(two).short).toBe('Классный руководитель 5Б, 7А');
    expect(staffLabels(two).full).toBe('Школа №1234 · классный руководитель 5Б; классный руководитель 7А');
  });

  it('speaks English too', () => {
    setLang('en');
    expect(staffLabels(classTeacher).short).toBe('Class teacher 5Б');
    expect(staffLabels(teacher).short).toBe('Teacher · Школа №1234');
    setLang('ru');
  });
});
