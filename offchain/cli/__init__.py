"""The ``loranet`` command line. Commands are thin; heavy modules are imported lazily."""
