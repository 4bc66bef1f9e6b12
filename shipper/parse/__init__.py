"""shipper.parse: lines of a file -> records (see docs/ARCHITECTURE.md, "Parsing")."""

from shipper.parse.counts import ParseCounts
from shipper.parse.file_parser import FileParser
from shipper.parse.runtime import runtime_format_for

__all__ = ["FileParser", "ParseCounts", "runtime_format_for"]
