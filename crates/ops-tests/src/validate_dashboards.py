"""Validates Grafana dashboard JSON models with Grafana's published types.

Run by the ops-tests (`tests/ops/dashboards.rs`) in a virtual environment holding the
pinned `grafana-foundation-sdk` (its Python types are generated from Grafana's schemas):

    python validate_dashboards.py dashboards/*.json

For each file:
1. `grafana_foundation_sdk.models.dashboard.Dashboard.from_json` parses it into the typed
   model (panels by panel type, queries by data source type: timeseries options, Prometheus
   queries and so on); a model that cannot be parsed is reported with the panel that fails.
2. Every field of the file must survive the typed model: the model is encoded back to JSON
   and each field the file holds must be there with the same value. A field the schema does
   not know (misspelt, misplaced, from another panel type) is dropped on the way.
3. Every value must have the type the schema declares: strings, numbers, booleans, lists,
   enumerations (`VariableRefresh`, `GraphDrawStyle`, `BigValueColorMode`...) and literals.

Prints one line per problem, `file: panel: reason`, and exits 1 if there was any.
"""

import enum
import json
import sys
import types
import typing

from grafana_foundation_sdk.cog import encoder, plugins
from grafana_foundation_sdk.models import dashboard as model

# Fields Grafana itself writes and reads that the dashboard schema does not declare:
# the import metadata of an exported dashboard (`__requires`), and a query variable's `definition` (the
# query as its editor shows it).
TOP_LEVEL_FIELDS_OUTSIDE_SCHEMA = {"__requires"}
VARIABLE_FIELDS_OUTSIDE_SCHEMA = {"definition"}


def where(data, path):
    """The panel (title path) or variable a JSON path is in, for messages."""
    place, node = [], data
    for i, key in enumerate(path):
        if isinstance(node, dict) and key not in node:
            break
        if isinstance(node, list) and not (isinstance(key, int) and key < len(node)):
            break
        node = node[key]
        parent = path[i - 1] if i > 0 else None
        if parent == "panels" and isinstance(node, dict):
            place.append(node.get("title") or f"panel {node.get('id')}")
        if parent == "list" and isinstance(node, dict) and "templating" in path[:i]:
            place = [f"variable {node.get('name')}"]
    return " / ".join(place) or "dashboard"


def pointer(path):
    return "/" + "/".join(str(p) for p in path)


def lost_fields(data, original, encoded, path, out):
    """Fields of `original` missing from, or changed in, `encoded` (the model's JSON)."""
    if isinstance(original, dict):
        if not isinstance(encoded, dict):
            out.append((path, f"{pointer(path)}: an object in the file, not in the schema"))
            return
        for key, value in original.items():
            if not path and key in TOP_LEVEL_FIELDS_OUTSIDE_SCHEMA:
                continue
            if key in VARIABLE_FIELDS_OUTSIDE_SCHEMA and "templating" in path:
                continue
            if key not in encoded:
                if value is None:
                    continue  # a null field is the same as an absent one
                out.append((path, f"{pointer(path + [key])}: field {key!r} is not in Grafana's schema"))
            else:
                lost_fields(data, value, encoded[key], path + [key], out)
    elif isinstance(original, list):
        if not isinstance(encoded, list) or len(encoded) != len(original):
            out.append((path, f"{pointer(path)}: the list does not survive the schema"))
            return
        for i, (a, b) in enumerate(zip(original, encoded)):
            lost_fields(data, a, b, path + [i], out)
    elif original != encoded or isinstance(original, bool) != isinstance(encoded, bool):
        out.append((path, f"{pointer(path)}: {original!r} becomes {encoded!r} in the schema"))


def describe(hint):
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return f"{hint.__name__} (one of {', '.join(repr(m.value) for m in hint)})"
        return hint.__name__
    return str(hint).replace("typing.", "")


def type_errors(value, hint):
    """Why `value` is not of `hint` (empty when it is); model objects are checked deeply."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or hint is object:
        return fields_errors(value) if is_model(value) else []
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return []
        arms = [arm for arm in args if arm is not type(None)]
        # An object of one of the arms' classes is checked against that arm only.
        for arm in arms:
            if isinstance(arm, type) and is_model_class(arm) and isinstance(value, arm):
                return type_errors(value, arm)
        best = None
        for arm in arms:
            errors = type_errors(value, arm)
            if not errors:
                return []
            best = best or errors
        return best or [("", f"{value!r} is not {describe(hint)}")]
    if origin is typing.Literal:
        return [] if value in args else [("", f"{value!r} is not one of {list(args)}")]
    if origin is list:
        if not isinstance(value, list):
            return [("", f"{value!r} is not a list")]
        errors = []
        for i, item in enumerate(value):
            errors += [(f"[{i}]{p}", r) for p, r in type_errors(item, args[0] if args else typing.Any)]
        return errors
    if origin is dict:
        if not isinstance(value, dict):
            return [("", f"{value!r} is not an object")]
        errors = []
        for key, item in value.items():
            errors += [(f"[{key!r}]{p}", r) for p, r in type_errors(item, args[1] if args else typing.Any)]
        return errors
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        ok = value in values and not isinstance(value, bool)
        return [] if ok else [("", f"{value!r} is not {describe(hint)}")]
    if hint is bool:
        return [] if isinstance(value, bool) else [("", f"{value!r} is not a boolean")]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [("", f"{value!r} is not an integer")]
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [("", f"{value!r} is not a number")]
    if hint is str:
        return [] if isinstance(value, str) else [("", f"{value!r} is not a string")]
    if isinstance(hint, type):
        if isinstance(value, dict) and is_model_class(hint) and hasattr(hint, "from_json"):
            # Some from_json keep a nested object as it is (a panel's transformations):
            # decode it with its type, and check it the same way as the whole model.
            try:
                decoded = hint.from_json(value)
            except Exception as error:  # noqa: BLE001
                return [("", f"does not parse as {hint.__name__}: {type(error).__name__}: {error}")]
            lost = []
            lost_fields(value, value, json.loads(json.dumps(decoded, cls=encoder.JSONEncoder)), [], lost)
            return [(p, f"{hint.__name__}{reason}") for p, reason in lost] + fields_errors(decoded)
        if not isinstance(value, hint):
            return [("", f"{value!r} is not {describe(hint)}")]
        return fields_errors(value) if is_model(value) else []
    return []


def is_model_class(cls):
    return cls.__module__.startswith("grafana_foundation_sdk.")


def is_model(value):
    return type(value).__module__.startswith("grafana_foundation_sdk.")


def fields_errors(obj):
    try:
        hints = typing.get_type_hints(type(obj))
    except Exception:  # an unresolvable forward reference: nothing to check against
        return []
    errors = []
    for name, hint in hints.items():
        if hasattr(obj, name):
            errors += [(f".{name}{p}", r) for p, r in type_errors(getattr(obj, name), hint)]
    return errors


def panel_parse_error(panels, prefix=""):
    """The first panel that the typed model cannot parse, with the reason."""
    for panel in panels or []:
        title = f"{prefix}{panel.get('title') or panel.get('id')}" if isinstance(panel, dict) else prefix
        if not isinstance(panel, dict) or not isinstance(panel.get("type"), str):
            return title, "a panel needs a type (its plugin id)"
        try:
            kind = model.RowPanel if panel.get("type") == "row" else model.Panel
            kind.from_json(panel)
        except Exception as error:  # noqa: BLE001 - any failure is the answer
            nested = panel_parse_error(panel.get("panels"), f"{title} / ") if isinstance(panel, dict) else None
            return nested or (title, f"{type(error).__name__}: {error}")
    return None


def validate(path):
    problems = []
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    try:
        dashboard = model.Dashboard.from_json(data)
    except Exception as error:  # noqa: BLE001
        panel, reason = panel_parse_error(data.get("panels")) or (
            "dashboard",
            f"{type(error).__name__}: {error}",
        )
        return [f"{path}: {panel}: does not parse with Grafana's types: {reason}"]
    encoded = json.loads(json.dumps(dashboard, cls=encoder.JSONEncoder))
    lost = []
    lost_fields(data, data, encoded, [], lost)
    problems += [f"{path}: {where(data, p)}: {reason}" for p, reason in lost]
    for attr_path, reason in fields_errors(dashboard):
        problems.append(f"{path}: {model_place(dashboard, attr_path)}: {attr_path.lstrip('.')}: {reason}")
    return problems


def model_place(dashboard, attr_path):
    """The panel title of a typed-model path such as `.panels[3].panels[0].options...`."""
    place, node = [], dashboard
    for step in attr_path.replace("[", ".[").split(".")[1:]:
        if step.startswith("[") and step[1:-1].isdigit():
            if not isinstance(node, list):
                break
            node = node[int(step[1:-1])]
            if isinstance(node, (model.Panel, model.RowPanel)):
                place.append(node.title or f"panel {node.id_val}")
        else:
            node = getattr(node, step, None)
    return " / ".join(place) or "dashboard"


def main():
    plugins.register_default_plugins()
    problems = []
    for path in sys.argv[1:]:
        problems += validate(path)
    for problem in problems:
        print(problem)
    print(f"{len(sys.argv) - 1} dashboards, {len(problems)} problems against Grafana's schema")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
