"""Where the benchmark's dataset is cached: one per scale and per database, names of their own
process for builds and run copies, copies of ended processes recognised as stale."""
import os

from bench import store
from bench.floors import Database


def test_the_stamp_covers_the_scale():
    assert store.stamp(200_000) != store.stamp(2_000_000)
    assert store.stamp(200_000) == store.stamp(200_000)


def test_sqlite_keeps_one_file_per_scale_and_a_copy_per_process(tmp_path):
    small, big = store.SqliteStore(200_000, folder=str(tmp_path)), store.SqliteStore(2_000_000, folder=str(tmp_path))
    assert small.path != big.path and small.stamp_path != big.stamp_path
    assert "200000" in small.path and "2000000" in big.path
    assert small.run_path.endswith(f"run-{os.getpid()}.db")


def test_postgresql_names_say_the_scale_and_the_process():
    assert store.dataset_name(2_000_000) == "fd_bench_dataset_2000000"
    assert store.run_copy_name(200_000, pid=4242) == "fd_bench_run_200000_4242"
    assert store.build_name(200_000, pid=4242) == "fd_bench_build_200000_4242"


def test_copies_of_ended_processes_are_stale_and_others_are_not():
    def alive(pid):
        return pid == "1"

    assert store.stale_copy("fd_bench_run_200000_99", alive=alive)
    assert store.stale_copy("fd_bench_build_2000000_99", alive=alive)
    assert not store.stale_copy("fd_bench_run_200000_1", alive=alive)
    assert not store.stale_copy("fd_bench_dataset_200000", alive=alive)
    assert not store.stale_copy("fd_test_run_99", alive=alive)


def test_the_url_picks_the_store():
    pg = store.target("postgresql://postgres@127.0.0.1:5432/test", 200_000)
    assert isinstance(pg, store.PostgresStore) and pg.name == "fd_bench_dataset_200000"
    assert isinstance(store.target("", 200_000), store.SqliteStore)
    assert isinstance(store.target("sqlite:///instance/app.db", 200_000), store.SqliteStore)
    assert store.with_database("postgresql://postgres@127.0.0.1:5432/test", "fd_bench_run_1_2") == \
        "postgresql://postgres@127.0.0.1:5432/fd_bench_run_1_2"


def test_the_floors_connection_takes_question_marks_on_either_database():
    assert Database("sqlite:////x/run.db").driver == "sqlite3"
    assert Database("postgresql://postgres@127.0.0.1:5432/x").driver == "psycopg2"
