"""shipper.parse: lines of a file -> records (see docs/ARCHITECTURE.md, "Parsing")."""

from shipper.parse.file_parser import FileParser, ParseCounts, runtime_format_for

__all__ = ["FileParser", "ParseCounts", "runtime_format_for"]
