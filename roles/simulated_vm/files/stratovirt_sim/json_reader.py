# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Byte-exact emulation of serde_json's reading of one QMP command, and serde's error texts.

StratoVirt parses every QMP input with ``serde_json::from_str::<QmpCommand>(text.trim())`` where ``QmpCommand`` is
an internally tagged enum (tag ``execute``). This module is the first two of the three layers involved
(serde_model.py is the third, schemas.py the StratoVirt types they read):

1. serde_json's ``StrRead`` deserializer (syntax errors with ``at line L column C``; columns count UTF-8 bytes),
2. serde's ``TaggedContentVisitor`` (tag checked as soon as it is read, errors positioned by serde_json's
   ``fix_position``),

with the messages serde words its errors in, shared with serde_model.py.
"""

import math
import re
import unicodedata
from decimal import Decimal
from typing import List, NamedTuple, Optional, Tuple

TAG = "execute"
ENUM_EXPECTING = "internally tagged enum QmpCommand"
VARIANT_EXPECTING = "variant identifier"
U64_MAX = 2**64 - 1
I32_MAX = 2**31 - 1
RECURSION_LIMIT = 128

# serde_json ErrorCode texts (src/error.rs).
EOF_LIST = "EOF while parsing a list"
EOF_OBJECT = "EOF while parsing an object"
EOF_STRING = "EOF while parsing a string"
EOF_VALUE = "EOF while parsing a value"
EXPECTED_COLON = "expected `:`"
EXPECTED_LIST_COMMA = "expected `,` or `]`"
EXPECTED_OBJECT_COMMA = "expected `,` or `}`"
EXPECTED_IDENT = "expected ident"
EXPECTED_VALUE = "expected value"
INVALID_ESCAPE = "invalid escape"
INVALID_NUMBER = "invalid number"
NUMBER_OUT_OF_RANGE = "number out of range"
CONTROL_CHARACTER = "control character (\\u0000-\\u001F) found while parsing a string"
KEY_MUST_BE_STRING = "key must be a string"
LONE_SURROGATE = "lone leading surrogate in hex escape"
TRAILING_COMMA = "trailing comma"
TRAILING_CHARACTERS = "trailing characters"
UNEXPECTED_END_OF_HEX = "unexpected end of hex escape"
RECURSION_EXCEEDED = "recursion limit exceeded"

WHITESPACE = b" \n\t\r"
DIGITS = b"0123456789"
HEX_DIGITS = b"0123456789abcdefABCDEF"
STRING_SPECIAL = re.compile(b'["\\\\\\x00-\\x1f]')
SIMPLE_ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}
IDENT_LITERALS = {ord("n"): (b"ull", None), ord("t"): (b"rue", True), ord("f"): (b"alse", False)}
RUST_DEBUG_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"', "\0": "\\0"}
NOT_A_SCALAR = object()


class SerdeError(Exception):
    """A decoding failure; ``desc`` is the exact text StratoVirt reports."""

    def __init__(self, desc):
        super().__init__(desc)
        self.desc = desc


class Decoded(NamedTuple):
    """A successfully decoded QMP command."""

    execute: str
    arguments: Optional[dict]
    id: Optional[str]


class _DeError(Exception):
    """Internal error; line 0 means "no position yet", like serde_json."""

    def __init__(self, msg, line=0, column=0):
        super().__init__(msg)
        self.msg = msg
        self.line = line
        self.column = column

    def describe(self):
        """Render like serde_json's ``Display for Error``."""
        if self.line == 0:
            return self.msg
        return f"{self.msg} at line {self.line} column {self.column}"


class _Map(NamedTuple):
    """JSON object content; a list of pairs because serde keeps duplicates."""

    entries: List[Tuple[str, object]]


# ---------------------------------------------------------------- messages


def _one_of(names):
    quoted = [f"`{name}`" for name in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def _unknown_field(field, names):
    if not names:
        return f"unknown field `{field}`, there are no fields"
    return f"unknown field `{field}`, expected {_one_of(names)}"


def _unknown_variant(variant, names):
    if not names:
        return f"unknown variant `{variant}`, there are no variants"
    return f"unknown variant `{variant}`, expected {_one_of(names)}"


def _missing_field(name):
    return f"missing field `{name}`"


def _ryu(value):
    """Format a float like the ryu crate (used by serde_json's JsonUnexpected)."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    parts = Decimal(repr(abs(value))).as_tuple()
    all_digits = "".join(str(digit) for digit in parts.digits)
    digits = all_digits.rstrip("0")
    assert isinstance(parts.exponent, int)  # a finite float: never 'n', 'N' or 'F'
    exponent = parts.exponent + len(all_digits) - len(digits)
    length = len(digits)
    point = length + exponent
    if 0 <= exponent and point <= 16:
        return sign + digits + "0" * exponent + ".0"
    if 0 < point <= 16:
        return sign + digits[:point] + "." + digits[point:]
    if -5 < point <= 0:
        return sign + "0." + "0" * -point + digits
    if length == 1:
        return f"{sign}{digits}e{point - 1}"
    return f"{sign}{digits[0]}.{digits[1:]}e{point - 1}"


def _rust_debug_str(text):
    """Approximate Rust's ``{:?}`` for str (printable check as in core::unicode)."""
    out = ['"']
    for char in text:
        if char in RUST_DEBUG_ESCAPES:
            out.append(RUST_DEBUG_ESCAPES[char])
        elif not char.isprintable() or unicodedata.category(char) in ("Mn", "Me"):
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _describe_bool(value):
    return f"boolean `{'true' if value else 'false'}`"


UNEXPECTED_BY_TYPE = (
    (bool, _describe_bool),
    (int, lambda value: f"integer `{value}`"),
    (float, lambda value: f"floating point `{_ryu(value)}`"),
    (str, lambda value: "string " + _rust_debug_str(value)),
    (list, lambda value: "sequence"),
)


def _unexpected(value):
    """serde_json's JsonUnexpected rendering of a content value."""
    if value is None:
        return "null"
    for python_type, describe in UNEXPECTED_BY_TYPE:
        if isinstance(value, python_type):
            return describe(value)
    return "map"


def _invalid_type(value, expected):
    return _DeError(f"invalid type: {_unexpected(value)}, expected {expected}")


def _invalid_value(value, expected):
    return _DeError(f"invalid value: {_unexpected(value)}, expected {expected}")


def _plural_elements(count):
    return "1 element" if count == 1 else f"{count} elements"


# ---------------------------------------------------------------- serde_json


class _JsonReader:
    """serde_json's Deserializer over a StrRead, limited to what QmpCommand uses."""

    def __init__(self, text, eager_hex):
        self.data = text.encode("utf-8", "surrogatepass")
        self.index = 0
        self.remaining_depth = RECURSION_LIMIT
        # serde_json before the 2023 rewrite of decode_hex_escape stopped at the first bad digit.
        self.eager_hex = eager_hex

    # -- positions
    def _position(self, index):
        line_start = self.data.rfind(b"\n", 0, index) + 1
        return 1 + self.data.count(b"\n", 0, line_start), index - line_start

    def error(self, msg):
        """Error at the last consumed byte."""
        return _DeError(msg, *self._position(self.index))

    def peek_error(self, msg):
        """Error including the peeked byte."""
        return _DeError(msg, *self._position(min(len(self.data), self.index + 1)))

    def fix_position(self, err):
        """Give a positionless error the current position."""
        if err.line == 0:
            err.line, err.column = self._position(self.index)
        return err

    # -- bytes
    def peek(self):
        """Next byte or None at EOF."""
        return self.data[self.index] if self.index < len(self.data) else None

    def eat(self):
        """Consume the peeked byte."""
        self.index += 1

    def next_byte(self):
        """Consume and return the next byte, None at EOF."""
        byte = self.peek()
        if byte is not None:
            self.index += 1
        return byte

    def _peek_is_digit(self):
        """True when the next byte is an ASCII digit."""
        byte = self.peek()
        return byte is not None and byte in DIGITS

    def parse_whitespace(self):
        """Skip whitespace and peek."""
        while True:
            byte = self.peek()
            if byte is None or byte not in WHITESPACE:
                return byte
            self.eat()

    def end(self):
        """Deserializer::end: only whitespace may follow the value."""
        if self.parse_whitespace() is not None:
            raise self.peek_error(TRAILING_CHARACTERS)

    # -- scalars
    def _parse_ident(self, rest):
        """Match the remaining letters of null/true/false."""
        for expected in rest:
            byte = self.next_byte()
            if byte is None:
                raise self.error(EOF_VALUE)
            if byte != expected:
                raise self.error(EXPECTED_IDENT)

    def parse_scalar(self, peek):
        """Parse a non-compound value starting at ``peek``, else NOT_A_SCALAR."""
        if peek in IDENT_LITERALS:
            rest, value = IDENT_LITERALS[peek]
            self.eat()
            self._parse_ident(rest)
            return value
        if peek == ord("-"):
            self.eat()
            return self._parse_number(False)
        if peek is not None and peek in DIGITS:
            return self._parse_number(True)
        if peek == ord('"'):
            self.eat()
            return self.parse_str()
        return NOT_A_SCALAR

    def _parse_number(self, positive):
        """parse_integer/parse_decimal/parse_exponent and their long variants."""
        integer = self._integer_digits()
        fraction = None
        if self.peek() == ord("."):
            fraction = self._fraction_digits()
        if self.peek() in (ord("e"), ord("E")):
            return self._exponent(positive, integer, fraction or "")
        if fraction is None:
            return self._integer_value(positive, integer)
        return self._float_value(positive, integer + "." + fraction)

    def _integer_digits(self):
        byte = self.next_byte()
        if byte is None:
            raise self.error(EOF_VALUE)
        if byte == ord("0"):
            if self._peek_is_digit():
                raise self.peek_error(INVALID_NUMBER)
            return "0"
        if byte not in DIGITS:
            raise self.error(INVALID_NUMBER)
        start = self.index - 1
        while self._peek_is_digit():
            self.eat()
        return self.data[start : self.index].decode("ascii")

    def _fraction_digits(self):
        self.eat()
        start = self.index
        while self._peek_is_digit():
            self.eat()
        if self.index == start:
            raise self.peek_error(INVALID_NUMBER if self.peek() is not None else EOF_VALUE)
        return self.data[start : self.index].decode("ascii")

    def _exponent(self, positive, integer, fraction):
        self.eat()
        positive_exp = True
        if self.peek() in (ord("+"), ord("-")):
            positive_exp = self.peek() == ord("+")
            self.eat()
        byte = self.next_byte()
        if byte is None:
            raise self.error(EOF_VALUE)
        if byte not in DIGITS:
            raise self.error(INVALID_NUMBER)
        exponent = byte - ord("0")
        while self._peek_is_digit():
            digit = self.next_byte() - ord("0")
            if exponent > I32_MAX // 10 or (exponent == I32_MAX // 10 and digit > I32_MAX % 10):
                return self._exponent_overflow(positive, set(integer + fraction) == {"0"}, positive_exp)
            exponent = exponent * 10 + digit
        literal = f"{integer}.{fraction or 0}e{'' if positive_exp else '-'}{exponent}"
        return self._float_value(positive, literal)

    def _exponent_overflow(self, positive, zero_significand, positive_exp):
        if not zero_significand and positive_exp:
            raise self.error(NUMBER_OUT_OF_RANGE)
        while self._peek_is_digit():
            self.eat()
        return 0.0 if positive else -0.0

    def _integer_value(self, positive, digits):
        # More than 20 digits cannot fit u64; also keeps int() away from huge strings.
        magnitude = int(digits) if len(digits) <= 20 else U64_MAX + 1
        if positive and magnitude <= U64_MAX:
            return magnitude
        if not positive and magnitude <= 2**63:
            return -magnitude
        return self._float_value(positive, digits)

    def _float_value(self, positive, literal):
        value = float(literal)
        if math.isinf(value):
            raise self.error(NUMBER_OUT_OF_RANGE)
        return value if positive else -value

    # -- strings
    def parse_str(self):
        """Parse string content after the opening quote (validating, like StrRead)."""
        out = bytearray()
        while True:
            match = STRING_SPECIAL.search(self.data, self.index)
            if match is None:
                self.index = len(self.data)
                raise self.error(EOF_STRING)
            out += self.data[self.index : match.start()]
            self.index = match.start() + 1
            byte = self.data[match.start()]
            if byte == ord('"'):
                return out.decode("utf-8", "surrogatepass")
            if byte != ord("\\"):
                raise self.error(CONTROL_CHARACTER)
            self._parse_escape(out)

    def _parse_escape(self, out):
        byte = self.next_byte()
        if byte is None:
            raise self.error(EOF_STRING)
        if byte in SIMPLE_ESCAPES:
            out += SIMPLE_ESCAPES[byte]
        elif byte == ord("u"):
            out += self._unicode_escape().encode("utf-8")
        else:
            raise self.error(INVALID_ESCAPE)

    def _unicode_escape(self):
        first = self._decode_hex_escape()
        if 0xDC00 <= first <= 0xDFFF:
            raise self.error(LONE_SURROGATE)
        if not 0xD800 <= first <= 0xDBFF:
            return chr(first)
        for expected in (ord("\\"), ord("u")):
            if self.peek() is None:
                raise self.error(EOF_STRING)
            matched = self.next_byte() == expected
            if not matched:
                raise self.error(UNEXPECTED_END_OF_HEX)
        second = self._decode_hex_escape()
        if not 0xDC00 <= second <= 0xDFFF:
            raise self.error(LONE_SURROGATE)
        return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))

    def _decode_hex_escape(self):
        if self.index + 4 > len(self.data):
            self.index = len(self.data)
            raise self.error(EOF_STRING)
        chunk = self.data[self.index : self.index + 4]
        if self.eager_hex:
            for byte in chunk:
                self.index += 1
                if byte not in HEX_DIGITS:
                    raise self.error(INVALID_ESCAPE)
        else:
            self.index += 4
            if any(byte not in HEX_DIGITS for byte in chunk):
                raise self.error(INVALID_ESCAPE)
        return int(chunk.decode("ascii"), 16)

    # -- compound values
    def has_next(self, first, close, in_list):
        """SeqAccess::next_element / MapAccess::next_key up to the value itself."""
        peek = self.parse_whitespace()
        if peek == close:
            return False
        if peek == ord(",") and not first:
            self.eat()
            peek = self.parse_whitespace()
        elif peek is None:
            raise self.peek_error(EOF_LIST if in_list else EOF_OBJECT)
        elif not first:
            raise self.peek_error(EXPECTED_LIST_COMMA if in_list else EXPECTED_OBJECT_COMMA)
        if peek == close:
            raise self.peek_error(TRAILING_COMMA)
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        if not in_list and peek != ord('"'):
            raise self.peek_error(KEY_MUST_BE_STRING)
        return True

    def _parse_key(self):
        """MapKey::deserialize_any (the quote was peeked by has_next)."""
        self.eat()
        return self.parse_str()

    def _parse_object_colon(self):
        """Consume the ':' between key and value."""
        peek = self.parse_whitespace()
        if peek == ord(":"):
            self.eat()
        elif peek is None:
            raise self.peek_error(EOF_OBJECT)
        else:
            raise self.peek_error(EXPECTED_COLON)

    def _end_seq(self):
        """Consume the closing ']'."""
        peek = self.parse_whitespace()
        if peek == ord("]"):
            self.eat()
            return
        if peek == ord(","):
            self.eat()
            trailing_comma = self.parse_whitespace() == ord("]")
            raise self.peek_error(TRAILING_COMMA if trailing_comma else TRAILING_CHARACTERS)
        raise self.peek_error(EOF_LIST if peek is None else TRAILING_CHARACTERS)

    def _end_map(self):
        """Consume the closing '}'."""
        peek = self.parse_whitespace()
        if peek == ord("}"):
            self.eat()
            return
        if peek == ord(","):
            raise self.peek_error(TRAILING_COMMA)
        raise self.peek_error(EOF_OBJECT if peek is None else TRAILING_CHARACTERS)

    def _nested(self, visit, end):
        """check_recursion! + visit + end_seq/end_map; end runs even if visit failed."""
        self.remaining_depth -= 1
        if self.remaining_depth == 0:
            raise self.peek_error(RECURSION_EXCEEDED)
        self.eat()
        try:
            result = visit()
        except _DeError:
            # serde_json evaluates end_seq/end_map anyway; its consumption moves fix_position.
            try:
                end()
            except _DeError:
                pass
            raise
        self.remaining_depth += 1
        end()
        return result

    def parse_content(self):
        """deserialize_any with serde's ContentVisitor."""
        peek = self.parse_whitespace()
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        if peek == ord("["):
            return self._nested(self._seq_content, self._end_seq)
        if peek == ord("{"):
            return self._nested(self._map_content, self._end_map)
        value = self.parse_scalar(peek)
        if value is NOT_A_SCALAR:
            raise self.peek_error(EXPECTED_VALUE)
        return value

    def _seq_content(self):
        items: List[object] = []
        while self.has_next(not items, ord("]"), True):
            items.append(self.parse_content())
        return items

    def _map_content(self):
        entries: List[Tuple[str, object]] = []
        while self.has_next(not entries, ord("}"), False):
            key = self._parse_key()
            self._parse_object_colon()
            entries.append((key, self.parse_content()))
        return _Map(entries)

    # -- the internally tagged enum
    def _peek_invalid_type(self, expected):
        """serde_json's peek_invalid_type: consume a scalar to describe it."""
        peek = self.peek()
        if peek == ord("["):
            err = _invalid_type([], expected)
        elif peek == ord("{"):
            err = _invalid_type(_Map([]), expected)
        else:
            value = self.parse_scalar(peek)
            err = self.peek_error(EXPECTED_VALUE) if value is NOT_A_SCALAR else _invalid_type(value, expected)
        return self.fix_position(err)

    def _deserialize_tag(self, variants):
        """deserialize_identifier (= deserialize_str) with the variant visitor."""
        peek = self.parse_whitespace()
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        if peek != ord('"'):
            raise self.fix_position(self._peek_invalid_type(VARIANT_EXPECTING))
        self.eat()
        name = self.parse_str()
        if name not in variants:
            raise self.fix_position(_DeError(_unknown_variant(name, variants)))
        return name

    def read_command(self, variants):
        """deserialize_any with TaggedContentVisitor: returns (tag, content)."""
        peek = self.parse_whitespace()
        if peek is None:
            raise self.peek_error(EOF_VALUE)
        try:
            if peek == ord("["):
                return self._nested(lambda: self._tagged_seq(variants), self._end_seq)
            if peek == ord("{"):
                return self._nested(lambda: self._tagged_map(variants), self._end_map)
            value = self.parse_scalar(peek)
            if value is NOT_A_SCALAR:
                raise self.peek_error(EXPECTED_VALUE)
            raise _invalid_type(value, ENUM_EXPECTING)
        except _DeError as err:
            raise self.fix_position(err) from None

    def _tagged_seq(self, variants):
        if not self.has_next(True, ord("]"), True):
            raise _DeError(_missing_field(TAG))
        tag = self._deserialize_tag(variants)
        items = []
        while self.has_next(False, ord("]"), True):
            items.append(self.parse_content())
        return tag, items

    def _tagged_map(self, variants):
        tag = None
        entries = []
        first = True
        while self.has_next(first, ord("}"), False):
            first = False
            key = self._parse_key()
            if key == TAG:
                if tag is not None:
                    raise _DeError(f"duplicate field `{TAG}`")
                self._parse_object_colon()
                tag = self._deserialize_tag(variants)
            else:
                self._parse_object_colon()
                entries.append((key, self.parse_content()))
        if tag is None:
            raise _DeError(_missing_field(TAG))
        return tag, _Map(entries)
