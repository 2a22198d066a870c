"""Generated pages: every value escaped for the place it goes, templates filled in one pass.

The explorer and the tour write HTML whose values come from the user's files: class folder
names, layer names, image names. Each goes in through one of these, by context:

* ``text(value)``: element content, ``<h1>...</h1>``;
* ``attribute(value)``: a quoted attribute value, ``href="..."`` (quotes escaped too);
* ``script_data(obj)``: JSON for a ``<script type="application/json">`` block, read by the
  page with ``JSON.parse``. ``<``, ``>`` and ``&`` are written as ``\\u003c``... so no name can
  close the block or open a comment; the page then puts values into the DOM with
  ``textContent``, never ``innerHTML``.

``fill(template, **fields)`` replaces every ``{{name}}`` in a single pass: a value that
itself contains ``{{other}}`` stays as it is, instead of being filled again.
"""
import html
import json
import re


def text(value):
    return html.escape(str(value), quote=False)


def attribute(value):
    return html.escape(str(value), quote=True)


def script_data(obj):
    """JSON that is safe inside <script type="application/json">...</script>."""
    out = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                     ("\u2029", "\\u2029")):
        out = out.replace(ch, code)
    return out


def fill(template, **fields):
    """template with each {{name}} replaced by fields[name] (already escaped), in one pass."""
    def value(match):
        name = match.group(1)
        if name not in fields:
            raise KeyError(f"the template needs a value for {{{{{name}}}}}")
        return fields[name]
    return re.sub(r"\{\{(\w+)\}\}", value, template)
