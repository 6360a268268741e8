"""The OneRoster 1.1 / 1.2 CSV tables klasbot reads: their columns and value vocabularies.

Column lists follow /work/shared/oneroster-csv.md (1EdTech "OneRoster: CSV Binding" 1.2.1, the
1.1 tables as reproduced by vendors). `required` holds the columns the standard marks as always
required; `status` and `dateLastModified` are added for delta files by the reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import limits
from bot.domain import Role

V11 = "1.1"
V12 = "1.2"
VERSIONS = (V11, V12)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One CSV file's header contract for one OneRoster version."""

    file: str
    columns: tuple[str, ...]
    required: frozenset[str]


def _spec(file: str, columns: str, required: str) -> TableSpec:
    return TableSpec(file, tuple(columns.split(",")), frozenset(required.split(",")))


_ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
_CLASSES = (
    "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
)
_USERS_11 = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password"
)
# The union of 1.2.1 and the original 1.2(.0) header: 1.2.0 had `resourceSourcedIds`, which
# 1.2.1 removed as "incorrectly added"; exporters built against either are in the field.
_USERS_12 = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,"
    "resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,"
    "primaryOrgSourcedId,pronouns"
)
_ENROLLMENTS = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate"
)
_DEMOGRAPHICS = (
    "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,"
    "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,"
    "stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus"
)
_ROLES = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId"
)

MANIFEST = _spec("manifest.csv", "propertyName,value", "propertyName,value")
# klasbot's own extension; not part of OneRoster and the same for both versions.
CONTACTS = _spec(
    "contacts.csv",
    "sourcedId,email,street,postalCode,city,fallback,language,share_with_guardians",
    "sourcedId",
)

TABLES: dict[tuple[str, str], TableSpec] = {
    (V11, "orgs"): _spec("orgs.csv", _ORGS, "sourcedId,name,type"),
    (V12, "orgs"): _spec("orgs.csv", _ORGS, "sourcedId,name,type"),
    (V11, "users"): _spec(
        "users.csv",
        _USERS_11,
        "sourcedId,enabledUser,orgSourcedIds,role,username,givenName,familyName",
    ),
    (V12, "users"): _spec(
        "users.csv", _USERS_12, "sourcedId,enabledUser,username,givenName,familyName"
    ),
    (V12, "roles"): _spec(
        "roles.csv", _ROLES, "sourcedId,userSourcedId,roleType,role,orgSourcedId"
    ),
    (V11, "classes"): _spec(
        "classes.csv",
        _CLASSES,
        "sourcedId,title,courseSourcedId,classType,schoolSourcedId,termSourcedIds",
    ),
    (V12, "classes"): _spec(
        "classes.csv",
        _CLASSES,
        "sourcedId,title,courseSourcedId,classType,schoolSourcedId,termSourcedIds",
    ),
    (V11, "enrollments"): _spec(
        "enrollments.csv",
        _ENROLLMENTS,
        "sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role",
    ),
    (V12, "enrollments"): _spec(
        "enrollments.csv",
        _ENROLLMENTS,
        "sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role",
    ),
    # birthDate is optional as a value but it is the only reason klasbot reads this file, so a
    # header without it (e.g. a lower-case `birthdate`) must not silently lose every birth date.
    (V11, "demographics"): _spec("demographics.csv", _DEMOGRAPHICS, "sourcedId,birthDate"),
    (V12, "demographics"): _spec("demographics.csv", _DEMOGRAPHICS, "sourcedId,birthDate"),
}

# Files klasbot cannot do without, per version (they must be declared bulk or delta).
NEEDED: dict[str, tuple[str, ...]] = {
    V11: ("orgs", "users", "classes", "enrollments"),
    V12: ("orgs", "users", "roles", "classes", "enrollments"),
}
# Files klasbot reads when present.
OPTIONAL = ("demographics",)

ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})

# Person roles (users.role in 1.1, roles.role in 1.2). Both vocabularies are accepted in both
# versions: exporters mix them, and the mapping onto klasbot's roles is unambiguous.
USER_ROLES: dict[str, Role] = {
    "student": Role.PUPIL,
    "parent": Role.GUARDIAN,
    "guardian": Role.GUARDIAN,
    "relative": Role.GUARDIAN,
    "teacher": Role.TEACHER,
    "aide": Role.TEACHER,
    "counselor": Role.TEACHER,
    "proctor": Role.TEACHER,
    "administrator": Role.LEADERSHIP,
    "principal": Role.LEADERSHIP,
    "siteAdministrator": Role.LEADERSHIP,
    "districtAdministrator": Role.LEADERSHIP,
    "systemAdministrator": Role.LEADERSHIP,
}
ENROLLMENT_ROLES = frozenset({"student", "teacher", "administrator", "proctor"})
ROLE_TYPES = frozenset({"primary", "secondary"})
EXT_PREFIX = "ext:"

# The longest value klasbot keeps of each column it stores, per file stem (`bot.limits`, which sizes
# the database's columns too): a longer one is an issue of the import, on every database.
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "orgs": {"sourcedId": limits.SOURCED_ID, "name": limits.NAME},
    "users": {
        "sourcedId": limits.SOURCED_ID,
        "givenName": limits.NAME,
        "familyName": limits.NAME,
        "middleName": limits.NAME,
        "preferredGivenName": limits.NAME,
        "email": limits.EMAIL,
        "username": limits.USERNAME,
    },
    "classes": {"sourcedId": limits.SOURCED_ID, "title": limits.NAME, "classCode": limits.NAME},
    "contacts": {
        "sourcedId": limits.SOURCED_ID,
        "email": limits.EMAIL,
        "street": limits.STREET,
        "postalCode": limits.POSTAL_CODE,
        "city": limits.CITY,
    },
}
