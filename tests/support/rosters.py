"""Writes small OneRoster CSV exports for tests (not the demo school)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

USERS_11 = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,"
    "userIds,givenName,familyName,middleName,identifier,email,sms,phone,"
    "agentSourcedIds,grades,password"
)
USERS_12 = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
    "password,userMasterIdentifier,preferredGivenName,preferredMiddleName,"
    "preferredFamilyName,primaryOrgSourcedId,pronouns"
)
ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
CLASSES = (
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
    "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
)
ENROLLMENTS = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,"
    "role,primary,beginDate,endDate"
)
DEMOGRAPHICS = (
    "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,"
    "asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,"
    "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,"
    "stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus"
)
ROLES = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId"
)
CONTACTS = "sourcedId,email,street,postalCode,city,fallback"


@dataclass
class User:
    id: str
    role: str  # student, teacher, guardian, administrator
    given: str
    family: str
    middle: str = ""
    email: str = ""
    birth: str | None = None
    agents: list[str] = field(default_factory=list)
    address: tuple[str, str, str] | None = None
    fallback: str = ""
    preferred: str = ""  # 1.2 preferredGivenName


@dataclass
class Roster:
    school: tuple[str, str] = ("org-veen", "Veenlanden College")
    classes: list[tuple[str, str]] = field(default_factory=list)  # (sourcedId, classCode)
    users: list[User] = field(default_factory=list)
    enrollments: list[tuple[str, str, str, bool]] = field(
        default_factory=list
    )  # class, user, role, primary

    def write(self, directory: Path, version: str = "1.2") -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        school_id, school_name = self.school

        def write(name: str, header: str, rows: list[dict[str, str]]) -> None:
            columns = header.split(",")
            with (directory / name).open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(columns)
                for r in rows:
                    w.writerow([r.get(c, "") for c in columns])

        files = ["orgs", "users", "classes", "enrollments", "demographics"] + (
            ["roles"] if version == "1.2" else []
        )
        with (directory / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["propertyName", "value"])
            w.writerow(["manifest.version", "1.0"])
            w.writerow(["oneroster.version", version])
            for stem in [
                "academicSessions",
                "categories",
                "classResources",
                "courses",
                "courseResources",
                "lineItems",
                "resources",
                "results",
            ]:
                w.writerow([f"file.{stem}", "absent"])
            for stem in files:
                w.writerow([f"file.{stem}", "bulk"])
        write("orgs.csv", ORGS, [{"sourcedId": school_id, "name": school_name, "type": "school"}])
        base = {"enabledUser": "true"}
        users = []
        for u in self.users:
            row = {
                **base,
                "sourcedId": u.id,
                "username": u.id,
                "givenName": u.given,
                "familyName": u.family,
                "middleName": u.middle,
                "email": u.email,
                "agentSourcedIds": ",".join(u.agents),
            }
            if version == "1.1":
                row.update({"orgSourcedIds": school_id, "role": u.role})
            else:
                row["primaryOrgSourcedId"] = school_id
                row["preferredGivenName"] = u.preferred
            users.append(row)
        write("users.csv", USERS_11 if version == "1.1" else USERS_12, users)
        if version == "1.2":
            write(
                "roles.csv",
                ROLES,
                [
                    {
                        "sourcedId": f"r-{u.id}",
                        "userSourcedId": u.id,
                        "roleType": "primary",
                        "role": "principal" if u.role == "administrator" else u.role,
                        "orgSourcedId": school_id,
                    }
                    for u in self.users
                ],
            )
        write(
            "classes.csv",
            CLASSES,
            [
                {
                    "sourcedId": cid,
                    "title": f"Klas {code}",
                    "courseSourcedId": "crs-1",
                    "classCode": code,
                    "classType": "homeroom",
                    "schoolSourcedId": school_id,
                    "termSourcedIds": "term-1",
                }
                for cid, code in self.classes
            ],
        )
        write(
            "enrollments.csv",
            ENROLLMENTS,
            [
                {
                    "sourcedId": f"e-{i}",
                    "classSourcedId": c,
                    "schoolSourcedId": school_id,
                    "userSourcedId": u,
                    "role": r,
                    "primary": "true" if p else ("false" if r == "teacher" else ""),
                }
                for i, (c, u, r, p) in enumerate(self.enrollments)
            ],
        )
        write(
            "demographics.csv",
            DEMOGRAPHICS,
            [{"sourcedId": u.id, "birthDate": u.birth} for u in self.users if u.birth],
        )
        write(
            "contacts.csv",
            CONTACTS,
            [
                {
                    "sourcedId": u.id,
                    "email": "",
                    "street": u.address[0] if u.address else "",
                    "postalCode": u.address[1] if u.address else "",
                    "city": u.address[2] if u.address else "",
                    "fallback": u.fallback,
                }
                for u in self.users
                if u.address or u.fallback
            ],
        )
        return directory


def pupil_address(n: int, domain: str = "leerling.veen.example") -> str:
    return f"leerling{n:05d}@{domain}"


def big_class(
    pupils: int, *, class_code: str = "6G", domain: str = "leerling.veen.example"
) -> Roster:
    """One class of `pupils` pupils aged 16+ with their own e-mail address, so that every
    delivery of an announcement is an e-mail (for crash tests and benchmarks)."""
    class_id = f"cls-{class_code.lower()}"
    r = Roster(classes=[(class_id, class_code)])
    r.users = [User("t-1", "teacher", "Karin", "Smit", email="k.smit@veen.example")]
    r.users += [
        User(
            f"s-{n:05d}",
            "student",
            f"Voornaam{n}",
            f"Achternaam{n}",
            birth="2009-05-01",
            email=pupil_address(n, domain),
        )
        for n in range(pupils)
    ]
    r.enrollments = [(class_id, "t-1", "teacher", True)]
    r.enrollments += [(class_id, f"s-{n:05d}", "student", False) for n in range(pupils)]
    return r
