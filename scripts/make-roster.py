#!/usr/bin/env python3
"""Writes a school roster of the given size, for measuring imports (benchmark tooling only).

    scripts/make-roster.py CLASSES STUDENTS_PER_CLASS > roster.csv

Each class gets a class teacher and four subject teachers (shared with the neighbouring classes,
as real teachers take several classes) and each student two guardians.
"""
import sys

classes, per_class = int(sys.argv[1]), int(sys.argv[2])
letters = "АБВГДЕЖИКЛМН"
print("role,class,name,child,subjects")
for c in range(classes):
    unit = f"{c // len(letters) + 1}{letters[c % len(letters)]}"
    print(f"class_teacher,{unit},Учитель Классный {c},,русский язык")
    for t in range(4):
        print(f"teacher,{unit},Учитель Предметник {(c + t) % (classes // 2 + 1)}_{t},,предмет {t}")
    for s in range(per_class):
        student = f"Ученик {c}-{s} Иванович"
        print(f"student,{unit},{student},,")
        print(f"guardian,{unit},Мама {c}-{s} Ивановна,{student},")
        print(f"guardian,{unit},Папа {c}-{s} Иванович,{student},")
