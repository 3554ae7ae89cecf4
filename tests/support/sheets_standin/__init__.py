"""A local stand-in of the Google Sheets API v4, for tests: see `server.py`."""

from .cells import Cell, serial
from .keys import ServiceAccount, service_account
from .server import Call, Fault, Hook, Request, SheetsStandIn
from .state import ApiError, Sheet, Spreadsheet

__all__ = [
    "ApiError",
    "Call",
    "Cell",
    "Fault",
    "Hook",
    "Request",
    "ServiceAccount",
    "Sheet",
    "SheetsStandIn",
    "Spreadsheet",
    "serial",
    "service_account",
]
