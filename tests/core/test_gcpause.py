import gc
import weakref

from engine.core.gcpause import gc_paused


class Node:
    def __init__(self) -> None:
        self.other: object = None


def test_what_the_pause_built_ends_in_the_oldest_generation_and_cycles_still_go():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        built = [Node() for _ in range(1000)]
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle, garbage once the names go
        gone = weakref.ref(a)
    assert gc.isenabled()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(built) in oldest and id(built[-1]) in oldest
    assert id(built) not in {id(o) for o in gc.get_objects(generation=0)}
    del a, b
    gc.collect()
    assert gone() is None


def test_a_pause_inside_a_pause_leaves_the_collector_off_until_the_outer_one_ends():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
