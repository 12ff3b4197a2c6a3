"""The PhotoStorage operator. Importing the package registers its kopf handlers, so
`kopf run -m photostore.operator` (or `python -m photostore operator`) runs it."""

from photostore.operator import handlers as handlers
