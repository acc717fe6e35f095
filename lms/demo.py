"""The demo organisation: departments, people in every role, and (in later domains) content.

Idempotent: running it twice leaves one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Department, User
from lms.demo_content import load_content

DEPARTMENTS = [
    # code, name, parent code
    ("HQ", "Head office", None),
    ("ADM", "Administration", "HQ"),
    ("PROD", "Production", "HQ"),
    ("WSHP", "Metal workshop", "PROD"),
    ("WH", "Warehouse", "PROD"),
    ("LOG", "Logistics", "HQ"),
    ("OFF", "Sales office", "HQ"),
]

# email local part, name, roles, department, job title, locale
PEOPLE = [
    ("admin", "Agnese Admine", ["admin"], "ADM", "System administrator", "lv"),
    ("instructor", "Ivars Ozols", ["instructor"], "ADM", "Fire safety specialist", "lv"),
    ("instructor2", "Olga Sokolova", ["instructor"], "ADM", "Occupational safety specialist", "ru"),
    ("instructor3", "John Carter", ["instructor"], "ADM", "Safety trainer", "en"),
    ("head", "Māris Kalniņš", ["manager"], "HQ", "Head of safety programmes", "lv"),
    ("manager", "Līga Bērziņa", ["manager"], "PROD", "Production manager", "lv"),
    ("manager2", "Dmitrijs Petrovs", ["manager"], "WH", "Warehouse manager", "ru"),
    ("manager3", "Inese Liepiņa", ["manager"], "OFF", "Office manager", "lv"),
    ("manager4", "Kārlis Zariņš", ["manager"], "LOG", "Logistics manager", "lv"),
    ("auditor", "Rūta Vītola", ["auditor"], "ADM", "Internal auditor", "lv"),
    ("auditor2", "Pavel Ivanov", ["auditor"], "ADM", "External inspector", "ru"),
    ("employee", "Jānis Krūmiņš", ["employee"], "WSHP", "Welder", "lv"),
    ("emp02", "Anna Kļaviņa", ["employee"], "WSHP", "Lathe operator", "lv"),
    ("emp03", "Sergejs Fjodorovs", ["employee"], "WSHP", "Welder", "ru"),
    ("emp04", "Edgars Ločmelis", ["employee"], "WSHP", "Fitter", "lv"),
    ("emp05", "Ieva Šulce", ["employee"], "WSHP", "Quality inspector", "lv"),
    ("emp06", "Natalja Ivanova", ["employee"], "WH", "Forklift driver", "ru"),
    ("emp07", "Gatis Ābols", ["employee"], "WH", "Storekeeper", "lv"),
    ("emp08", "Ģirts Ņikitins", ["employee"], "WH", "Forklift driver", "lv"),
    ("emp09", "Marina Kuzņecova", ["employee"], "WH", "Picker", "ru"),
    ("emp10", "Toms Eglītis", ["employee"], "LOG", "Driver", "lv"),
    ("emp11", "Aleksandrs Popovs", ["employee"], "LOG", "Dispatcher", "ru"),
    ("emp12", "Zane Ķēniņa", ["employee"], "LOG", "Driver", "lv"),
    ("emp13", "Emily Brown", ["employee"], "OFF", "Sales representative", "en"),
    ("emp14", "Laura Žagare", ["employee"], "OFF", "Accountant", "lv"),
    ("emp15", "Viktorija Orlova", ["employee"], "OFF", "Receptionist", "ru"),
    ("emp16", "Rihards Bērziņš", ["employee"], "ADM", "HR specialist", "lv"),
    ("emp17", "Dace Jansone", ["employee"], "PROD", "Production planner", "lv"),
    ("emp18", "Uldis Vanags", ["employee"], "PROD", "Maintenance technician", "lv"),
    ("emp19", "Olegs Smirnovs", ["employee"], "WSHP", "Welder", "ru"),
    ("emp20", "Kristīne Pūce", ["employee"], "WH", "Storekeeper", "lv"),
]

# the demo's names in Latvian and Russian (English is the default name above)
DEPARTMENT_NAMES = {
    "Head office": ("Galvenais birojs", "Головной офис"),
    "Administration": ("Administrācija", "Администрация"),
    "Production": ("Ražošana", "Производство"),
    "Metal workshop": ("Metālapstrādes cehs", "Металлообрабатывающий цех"),
    "Warehouse": ("Noliktava", "Склад"),
    "Logistics": ("Loģistika", "Логистика"),
    "Sales office": ("Tirdzniecības birojs", "Отдел продаж"),
}
JOB_TITLE_NAMES = {
    "System administrator": ("Sistēmas administrators", "Системный администратор"),
    "Fire safety specialist": ("Ugunsdrošības speciālists", "Специалист по пожарной безопасности"),
    "Occupational safety specialist": (
        "Darba aizsardzības speciālists",
        "Специалист по охране труда",
    ),
    "Safety trainer": ("Drošības instruktors", "Инструктор по безопасности"),
    "Head of safety programmes": (
        "Drošības programmu vadītājs",
        "Руководитель программ безопасности",
    ),
    "Production manager": ("Ražošanas vadītājs", "Начальник производства"),
    "Warehouse manager": ("Noliktavas vadītājs", "Заведующий складом"),
    "Office manager": ("Biroja vadītājs", "Офис-менеджер"),
    "Logistics manager": ("Loģistikas vadītājs", "Менеджер по логистике"),
    "Internal auditor": ("Iekšējais auditors", "Внутренний аудитор"),
    "External inspector": ("Ārējais inspektors", "Внешний инспектор"),
    "Welder": ("Metinātājs", "Сварщик"),
    "Lathe operator": ("Virpotājs", "Токарь"),
    "Fitter": ("Atslēdznieks", "Слесарь"),
    "Quality inspector": ("Kvalitātes kontrolieris", "Контролёр качества"),
    "Forklift driver": ("Iekrāvēja vadītājs", "Водитель погрузчика"),
    "Storekeeper": ("Noliktavas pārzinis", "Кладовщик"),
    "Picker": ("Komplektētājs", "Комплектовщик"),
    "Driver": ("Autovadītājs", "Водитель"),
    "Dispatcher": ("Dispečers", "Диспетчер"),
    "Sales representative": ("Tirdzniecības pārstāvis", "Торговый представитель"),
    "Accountant": ("Grāmatvedis", "Бухгалтер"),
    "Receptionist": ("Administrators", "Администратор приёмной"),
    "HR specialist": ("Personāla speciālists", "Специалист по кадрам"),
    "Production planner": ("Ražošanas plānotājs", "Планировщик производства"),
    "Maintenance technician": ("Apkopes tehniķis", "Техник по обслуживанию"),
}


def _names(table: dict[str, tuple[str, str]], english: str) -> dict[str, str] | None:
    if english not in table:
        return None
    lv, ru = table[english]
    return {"lv": lv, "en": english, "ru": ru}


DEPARTMENT_MANAGERS = {
    "PROD": "manager",
    "WSHP": "manager",
    "WH": "manager2",
    "OFF": "manager3",
    "LOG": "manager4",
    "HQ": "head",
    "ADM": "admin",
}
DOMAIN = "demo.brigade.lv"


def email_for(local: str) -> str:
    return f"{local}@{DOMAIN}"


def load_demo(
    session, password: str = "brigade-demo", echo: Callable[[str], None] = print
) -> list[tuple[str, str]]:
    """Create the demo organisation; returns (role, e-mail) pairs to print."""
    codes: dict[str, int] = {}
    for code, name, parent in DEPARTMENTS:
        existing = session.execute(sa.select(Department).where(Department.code == code)).scalar()
        if existing is None:
            existing = accounts.create_department(
                session, name=name, code=code, parent_id=codes.get(parent) if parent else None
            )
        if not existing.names:
            existing.names = _names(DEPARTMENT_NAMES, name)
        codes[code] = existing.id
    created = 0
    users: dict[str, User] = {}
    for local, name, roles, dept, title, locale in PEOPLE:
        user = accounts.find_by_email(session, email_for(local))
        if user is None:
            user = accounts.create_user(
                session,
                email=email_for(local),
                name=name,
                password=password,
                roles=roles,
                department_id=codes[dept],
                job_title=title,
                locale=locale,
                start_date=date(2024, 1, 8),
                check_strength=False,
            )
            created += 1
        if not user.job_titles:
            user.job_titles = _names(JOB_TITLE_NAMES, title)
        users[local] = user
    for code, local in DEPARTMENT_MANAGERS.items():
        dept = session.get(Department, codes[code])
        if dept.manager_id is None:
            dept.manager_id = users[local].id
    session.flush()
    echo(
        f"Demo organisation: {len(DEPARTMENTS)} departments, {len(PEOPLE)} people ({created} new)."
    )
    load_content(session, users, password, echo)
    return [
        (roles[0], email_for(local))
        for local, _n, roles, *_ in PEOPLE
        if local in {"admin", "instructor", "head", "manager", "auditor", "employee"}
    ]
