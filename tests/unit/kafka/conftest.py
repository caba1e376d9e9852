from tests.unit.datagen.conftest import events

__all__ = ["events"]  # the seed's user events, as the generator's tests use them
