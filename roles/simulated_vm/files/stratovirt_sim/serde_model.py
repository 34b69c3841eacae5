# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""serde's ``ContentDeserializer`` feeding derived structs: the third layer of StratoVirt's decoding of a QMP command.

The argument structs (schemas.py) are checked field by field as serde's derive does, with its error texts (no
position), and the decoded content is turned back into plain JSON values.
"""

from typing import NamedTuple, Tuple

from .json_reader import U64_MAX, _DeError, _invalid_type, _invalid_value, _Map, _missing_field, _plural_elements, _unknown_field, _unknown_variant

# ---------------------------------------------------------------- serde derive over Content


class _Field(NamedTuple):
    name: str
    kind: tuple
    default: bool = False

    def may_be_absent(self):
        """Option fields and #[serde(default)] fields may be missing."""
        return self.default or self.kind[0] == "option"


class _StructDef(NamedTuple):
    expecting: str
    fields: Tuple[_Field, ...]
    deny_unknown: bool

    def names(self):
        """Field serde names in declaration order (duplicates kept, as serde does)."""
        return [field.name for field in self.fields]

    def find(self, key):
        """First field with that serde name (later duplicates are unreachable)."""
        for field in self.fields:
            if field.name == key:
                return field
        return None


STRING = ("string", "a string")
BOOL = ("bool", "a boolean")
U8 = ("uint", "u8", 2**8 - 1)
U16 = ("uint", "u16", 2**16 - 1)
U32 = ("uint", "u32", 2**32 - 1)
U64 = ("uint", "u64", U64_MAX)
USIZE = ("uint", "usize", U64_MAX)  # StratoVirt runs on 64-bit hosts only.


def _opt(kind):
    return ("option", kind)


OPT_STRING = _opt(STRING)
OPT_BOOL = _opt(BOOL)


def _struct(rust_name, fields, deny_unknown=True):
    """Describe a derived struct; fields are (name, kind[, default]) tuples."""
    return _StructDef("struct " + rust_name, tuple(_Field(*field) for field in fields), deny_unknown)


def _check_option(value, kind):
    if value is not None:
        _check_value(value, kind[1])


def _check_simple(value, kind):
    python_type = str if kind[0] == "string" else bool
    if not isinstance(value, python_type):
        raise _invalid_type(value, kind[1])


def _check_uint(value, kind):
    dummy, name, maximum = kind
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid_type(value, name)
    if not 0 <= value <= maximum:
        raise _invalid_value(value, name)


def _check_unit_enum(value, kind):
    """ContentDeserializer::deserialize_enum for an enum of unit variants."""
    variants = kind[1]
    payload = None
    if isinstance(value, _Map):
        if len(value.entries) != 1:
            raise _invalid_value(value, "map with a single key")
        value, payload = value.entries[0]
    elif not isinstance(value, str):
        raise _invalid_type(value, "string or map")
    if value not in variants:
        raise _DeError(_unknown_variant(value, variants))
    if payload is not None:
        raise _invalid_type(payload, "unit")


def _check_struct_kind(value, kind):
    check_struct(value, kind[1])


CHECKERS = {
    "option": _check_option,
    "string": _check_simple,
    "bool": _check_simple,
    "uint": _check_uint,
    "enum": _check_unit_enum,
    "struct": _check_struct_kind,
}


def _check_value(value, kind):
    CHECKERS[kind[0]](value, kind)


def _visit_map(entries, struct):
    given = {}
    for key, value in entries:
        field = struct.find(key)
        if field is None:
            if struct.deny_unknown:
                raise _DeError(_unknown_field(key, struct.names()))
            continue
        if field.name in given:
            raise _DeError(f"duplicate field `{field.name}`")
        _check_value(value, field.kind)
        given[field.name] = value
    for field in struct.fields:
        if field.name not in given and not field.may_be_absent():
            raise _DeError(_missing_field(field.name))
    return given


def _visit_seq(items, struct):
    total = len(struct.fields)
    given = {}
    for index, field in enumerate(struct.fields):
        if index >= len(items):
            if field.default:
                continue
            raise _DeError(f"invalid length {index}, expected {struct.expecting} with {_plural_elements(total)}")
        _check_value(items[index], field.kind)
        given[field.name] = items[index]
    if len(items) > total:
        raise _DeError(f"invalid length {len(items)}, expected {_plural_elements(total)} in sequence")
    return given


def check_struct(value, struct):
    """Deserialize a derived struct from content; returns the given raw values by field name."""
    if isinstance(value, _Map):
        return _visit_map(value.entries, struct)
    if isinstance(value, list):
        return _visit_seq(value, struct)
    raise _invalid_type(value, struct.expecting)


def _to_plain(value):
    if isinstance(value, _Map):
        return {key: _to_plain(item) for key, item in value.entries}
    if isinstance(value, list):
        return [_to_plain(item) for item in value]
    return value
