"""YAML scalars as Kubernetes reads them.

The API server and kubectl read YAML with ``sigs.k8s.io/yaml``: go-yaml v2 decodes the document into
untyped Go values (YAML 1.1 rules, with go-yaml's own choices), then the result is converted to JSON.
PyYAML resolves plain scalars differently (``=`` is a ``!!value`` it cannot construct, ``1:20`` is the
sexagesimal 80, a timestamp becomes a ``datetime``), so plain scalars are resolved here instead:

- ``yes/Yes/YES/true/True/TRUE/on/On/ON`` are true, the ``no``/``false``/``off`` family false. One
  deliberate difference: go-yaml v2 also reads the single letters ``y``/``Y``/``n``/``N`` as booleans,
  but namespaces and labels named ``x``, ``y``, ``z`` are common (the upstream NetworkPolicy e2e suite
  uses them), and a manifest that means the letter would not survive ``kubectl apply`` unchanged anyway;
  netpolscan keeps those four as strings so such inputs are analysed as their authors wrote them;
  ``~``, ``null``, ``Null``, ``NULL`` and the empty scalar are null; everything else starting with a
  letter is a string (``=`` included).
- A scalar starting with a digit or a sign is an integer when Go's ``ParseInt(s, 0, 64)`` reads it
  (underscores dropped: ``0x1F``, ``0o17``, ``0b101``, and ``0777`` is octal 511), else a float when it
  matches go-yaml's float syntax (``1e3``, ``08``), else a string: sexagesimal (``1:20``) and timestamps
  stay strings, exactly as written.
- JSON then applies: a float with an integral value is written as an integer (``80.0`` reads as 80), and
  ``.inf``/``.nan`` cannot be written at all, so such a document is rejected.
- Mapping keys become JSON strings: ``true``/``false`` for booleans, decimal for integers, Go's shortest
  32-bit ``%g`` for floats; a null key is rejected.
- Explicit tags: ``!!str`` keeps the text, ``!!binary`` is base64-decoded to a string, ``!!int``,
  ``!!float``, ``!!bool``, ``!!timestamp`` must fit the text, ``!!null`` is null, and any other tag
  (``!Ref``, ``!!set``) leaves the text as it is.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
PLAIN_TAG = "tag:netpolscan.io,2026:plain"  # a plain scalar that may not be a string: see plain_value
_PREFIX = "tag:yaml.org,2002:"
_BINARY, _NULL = _PREFIX + "binary", _PREFIX + "null"
_TYPED = {_PREFIX + name: name for name in ("bool", "int", "float", "timestamp")}

_CONSTANTS: dict[str, Any] = {}
for _words, _value in (
    ("yes Yes YES true True TRUE on On ON", True),
    ("no No NO false False FALSE off Off OFF", False),
    ("~ null Null NULL", None),
    (".nan .NaN .NAN", float("nan")),
    (".inf .Inf .INF +.inf +.Inf +.INF", float("inf")),
    ("-.inf -.Inf -.INF", float("-inf")),
):
    _CONSTANTS.update(dict.fromkeys(_words.split(), _value))
_CONSTANTS[""] = None
# go-yaml's first-character hints: only these can start a scalar that is not a string
_NUMERIC_START = frozenset("+-0123456789")
_MAYBE_NOT_STRING = frozenset("+-0123456789yYnNtTfFoO~.")
_GO_INT = re.compile(r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]{1,9})?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
_INT64 = 1 << 63
_UINT64 = 1 << 64


class ScalarError(ValueError):
    """A scalar Kubernetes cannot read (the document is rejected)."""


def resolve(value: str, plain: bool) -> str:
    """The tag of an untagged scalar: strings are settled at once, the rest by :func:`plain_value`."""
    if not plain:
        return STR_TAG  # quoted or block scalars are strings
    if value and value[0] not in _MAYBE_NOT_STRING:
        return MERGE_TAG if value == "<<" else STR_TAG
    return PLAIN_TAG


def _go_int(plain: str) -> int | None:
    """What Go's ``strconv.ParseInt(plain, 0, 64)`` or ``ParseUint`` (then ``big.Int``) reads, or None."""
    match = _GO_INT.fullmatch(plain)
    if match is None:
        return None
    sign, hexa, octal, binary, legacy_octal, decimal = match.groups()
    if hexa is not None:
        number, base = int(hexa, 16), 16
    elif binary is not None:
        number, base = int(binary, 2), 2
    elif decimal is not None:
        number, base = int(decimal), 10
    else:
        number, base = int(octal if octal is not None else legacy_octal, 8), 8
    value = -number if sign == "-" else number
    if -_INT64 <= value < _INT64 or (not sign and value < _UINT64):
        return value
    if base == 10 or _GO_FLOAT.fullmatch(plain):
        return None  # out of range: go-yaml tries a float next
    return value if not sign else None  # big.Int only after ParseUint's range error (no sign)


def _raw(text: str) -> Any:
    """go-yaml v2's value of a plain scalar decoded into ``interface{}`` (floats may be inf or nan)."""
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    first = text[0]
    if first == ".":
        return float(text) if _DOT_FLOAT.fullmatch(text) else text
    if first not in _NUMERIC_START:
        return text
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _GO_FLOAT.fullmatch(plain):
        value = float(plain)
        if value not in (float("inf"), float("-inf")):  # Go reports an overflow as an error
            return value
    return text


def _json(value: Any) -> Any:
    """A value as the JSON Kubernetes gets: integral floats are integers; inf and nan are rejected."""
    if value.__class__ is not float:
        return value
    if value != value or value in (float("inf"), float("-inf")):
        raise ScalarError(
            f"the value {_float_key(value)} cannot be converted to JSON, so Kubernetes rejects the "
            "document (quote it to make it a string)"
        )
    return int(value) if value.is_integer() and abs(value) < 1e21 else value


def _tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit tag (before the JSON conversion)."""
    if tag == STR_TAG:
        return text
    if tag == _NULL:
        return None
    if tag == _BINARY:
        try:
            data = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ScalarError("!!binary value contains invalid base64 data") from None
        return data.decode("utf-8", errors="replace")
    expected = _TYPED.get(tag)
    if expected is None:
        return text  # a tag go-yaml does not resolve (!Ref, !!set, ...): the text as written
    if expected == "timestamp" and _TIMESTAMP.fullmatch(text):
        return text
    value = _raw(text) if text else None
    if expected == "float" and value.__class__ is int:
        return float(value)
    found = {bool: "bool", int: "int", float: "float"}.get(value.__class__)
    if found != expected:
        raise ScalarError(f"cannot read {text!r} as !!{expected}")
    return value


def is_plain_string(text: str) -> bool:
    """Whether ``text``, written unquoted, reads back as the same string (else a writer must quote it:
    ``y``, ``on``, ``0777``, ``~``, ``<<``)."""
    tag = resolve(text, True)
    return tag == STR_TAG or (tag == PLAIN_TAG and _raw(text).__class__ is str)


def plain_value(text: str) -> Any:
    """The JSON value of a plain (unquoted, untagged) scalar resolved to :data:`PLAIN_TAG`."""
    return _json(_raw(text))


def tagged_value(tag: str, text: str) -> Any:
    """The JSON value of a scalar carrying the explicit ``tag``."""
    return _json(_tagged(tag, text))


def key_string(tag: str, text: str) -> str:
    """The JSON key of a scalar mapping key (go-yaml value converted as sigs.k8s.io/yaml does)."""
    if tag == STR_TAG:
        return text
    value = _raw(text) if tag == PLAIN_TAG else _tagged(tag, text)
    cls = value.__class__
    if cls is str:
        return str(value)
    if cls is bool:
        return "true" if value else "false"
    if cls is int and -_INT64 <= value < _INT64:
        return str(value)
    if cls is float:
        return _float_key(value)
    shown = "null" if value is None else text
    raise ScalarError(f"the mapping key {shown} cannot be converted to a JSON key, so Kubernetes rejects it")


def _float_key(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``, with YAML's spelling of infinities and nan."""
    if value != value:
        return ".nan"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = value * float("inf")
    if single in (float("inf"), float("-inf")):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if str(single).startswith("-") else "0"
    for precision in range(9):  # the shortest decimal that reads back as the same float32
        text = f"{single:.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, exponent_text = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:  # %e form, exponent with at least two digits
        fraction = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{fraction}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole, fraction = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1 :]
    return f"{sign}{whole}{'.' + fraction if fraction else ''}"
