"""Finance: the award chain enforced by the database, the fund_usage view, the read-only role alu_finance.

- Each award key's entries form one chain: award 1, its reversal, award 2, its reversal, ... A BEFORE INSERT
  trigger (SQLite and PostgreSQL) refuses an award n > 1 unless award n-1 has been reversed, and a reversal unless
  it cancels, to the fen, the award of the same key and version. With the unique constraints of 0001 this makes
  a second open award for one key impossible, whoever writes and however concurrently: a key's net is always 0 or
  its last award.
- SQLite: 0001's CHECK `amount_yuan * 100 = amount_fen` compared a binary float (SQLite keeps NUMERIC as REAL) and
  refused amounts such as 0.29 yuan; the table is rebuilt with the check on the rounded product.
- `fund_usage`: committed net per program and fund year, the year of `recorded_at` in Asia/Shanghai (UTC+8, no
  daylight saving since 1991) so the 02:00 run of 1 January counts in the new year.
- PostgreSQL: role `alu_finance` (NOLOGIN; created when missing) with SELECT on the published tables and views
  only. Default privileges are not touched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FINANCE_ROLE = "alu_finance"
PUBLISHED = ("award_ledger", "application_decisions", "submission_rejections", "award_balances", "fund_usage")

CHAIN_MESSAGE = "AWARD_LEDGER_CHAIN: 同一奖励对象的第 n 次奖励必须在第 n-1 次奖励冲销之后记账（不得同时存在两笔有效奖励）"
REVERSAL_MESSAGE = "AWARD_LEDGER_REVERSAL: 冲销分录必须指向同一奖励对象、同一版本的奖励分录，且金额正好相反"

SQLITE_LEDGER = """
CREATE TABLE award_ledger_0002 (
    entry_id INTEGER NOT NULL,
    award_key VARCHAR(200) NOT NULL,
    award_version INTEGER NOT NULL,
    application_id VARCHAR(100) NOT NULL,
    credit_code VARCHAR(18) NOT NULL,
    enterprise_name TEXT NOT NULL,
    program VARCHAR(40) NOT NULL,
    clause VARCHAR(20) NOT NULL,
    entry_type VARCHAR(10) NOT NULL,
    reverses_entry_id INTEGER,
    amount_yuan NUMERIC(14, 2) NOT NULL,
    amount_fen BIGINT NOT NULL,
    lead_department VARCHAR(40) NOT NULL,
    rulebook_version VARCHAR(40) NOT NULL,
    run_id VARCHAR(64) NOT NULL,
    recorded_at DATETIME NOT NULL,
    basis TEXT NOT NULL,
    CONSTRAINT pk_award_ledger PRIMARY KEY (entry_id),
    CONSTRAINT uq_award_ledger_key_version UNIQUE (award_key, entry_type, award_version),
    CONSTRAINT uq_award_ledger_reverses UNIQUE (reverses_entry_id),
    CONSTRAINT ck_award_ledger_entry_type CHECK (entry_type IN ('award', 'reversal')),
    CONSTRAINT ck_award_ledger_entry_shape CHECK (
        (entry_type = 'award' AND amount_fen > 0 AND reverses_entry_id IS NULL)
        OR (entry_type = 'reversal' AND amount_fen < 0 AND reverses_entry_id IS NOT NULL)),
    CONSTRAINT ck_award_ledger_amount_matches_fen CHECK (ROUND(amount_yuan * 100) = amount_fen),
    CONSTRAINT fk_award_ledger_reverses_entry_id FOREIGN KEY (reverses_entry_id)
        REFERENCES award_ledger_0002 (entry_id)
)
"""

SQLITE_TRIGGERS = (
    "CREATE TRIGGER award_ledger_no_update BEFORE UPDATE ON award_ledger "
    "BEGIN SELECT RAISE(ABORT, 'award_ledger is append-only: UPDATE is not allowed'); END",
    "CREATE TRIGGER award_ledger_no_delete BEFORE DELETE ON award_ledger "
    "BEGIN SELECT RAISE(ABORT, 'award_ledger is append-only: DELETE is not allowed'); END",
    f"""
    CREATE TRIGGER award_ledger_chain BEFORE INSERT ON award_ledger
    WHEN NEW.entry_type = 'award'
    BEGIN
      SELECT RAISE(ABORT, '{CHAIN_MESSAGE}')
      WHERE NEW.award_version < 1
         OR (NEW.award_version > 1 AND NOT EXISTS (
               SELECT 1 FROM award_ledger r
               WHERE r.award_key = NEW.award_key AND r.entry_type = 'reversal'
                 AND r.award_version = NEW.award_version - 1));
    END
    """,
    f"""
    CREATE TRIGGER award_ledger_reversal BEFORE INSERT ON award_ledger
    WHEN NEW.entry_type = 'reversal'
    BEGIN
      SELECT RAISE(ABORT, '{REVERSAL_MESSAGE}')
      WHERE NOT EXISTS (
               SELECT 1 FROM award_ledger a
               WHERE a.entry_id = NEW.reverses_entry_id AND a.entry_type = 'award'
                 AND a.award_key = NEW.award_key AND a.award_version = NEW.award_version
                 AND a.amount_fen = -NEW.amount_fen);
    END
    """,
)

POSTGRES_CHAIN = f"""
CREATE FUNCTION award_ledger_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.entry_type = 'award' THEN
    IF NEW.award_version < 1 OR (NEW.award_version > 1 AND NOT EXISTS (
         SELECT 1 FROM award_ledger r
         WHERE r.award_key = NEW.award_key AND r.entry_type = 'reversal'
           AND r.award_version = NEW.award_version - 1)) THEN
      RAISE EXCEPTION '{CHAIN_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation',
        DETAIL = format('award_key=%s award_version=%s', NEW.award_key, NEW.award_version);
    END IF;
  ELSIF NOT EXISTS (
         SELECT 1 FROM award_ledger a
         WHERE a.entry_id = NEW.reverses_entry_id AND a.entry_type = 'award'
           AND a.award_key = NEW.award_key AND a.award_version = NEW.award_version
           AND a.amount_fen = -NEW.amount_fen) THEN
    RAISE EXCEPTION '{REVERSAL_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation',
      DETAIL = format('award_key=%s reverses_entry_id=%s', NEW.award_key, NEW.reverses_entry_id);
  END IF;
  RETURN NEW;
END $$
"""

AWARD_BALANCES = """
CREATE VIEW award_balances AS
SELECT award_key,
       MIN(program) AS program,
       MIN(credit_code) AS credit_code,
       {net_yuan} AS net_yuan,
       SUM(amount_fen) AS net_fen,
       COUNT(*) AS entries,
       MAX(recorded_at) AS last_recorded_at
FROM award_ledger
GROUP BY award_key
"""

FUND_USAGE = """
CREATE VIEW fund_usage AS
SELECT program,
       {year} AS fund_year,
       {awarded} AS awarded_yuan,
       {reversed} AS reversed_yuan,
       {committed} AS committed_yuan,
       SUM(amount_fen) AS committed_fen,
       COUNT(*) AS entries
FROM award_ledger
GROUP BY program, {year}
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    op.execute("DROP VIEW award_balances")  # SQLite refuses to rename a table while a view names a missing one
    op.execute(SQLITE_LEDGER)
    op.execute("INSERT INTO award_ledger_0002 SELECT " + _LEDGER_COLUMNS + " FROM award_ledger")
    op.execute("DROP TABLE award_ledger")  # its triggers and index go with it; recreated below
    op.execute("ALTER TABLE award_ledger_0002 RENAME TO award_ledger")
    op.execute("CREATE INDEX ix_award_ledger_award_key ON award_ledger (award_key)")
    for trigger in SQLITE_TRIGGERS:
        op.execute(trigger)
    op.execute(AWARD_BALANCES.format(net_yuan="SUM(amount_fen) / 100.0"))
    # Fractional seconds are cut before the shift: SQLite rounds 59.999999 s up to the next minute.
    year = "CAST(strftime('%Y', substr(recorded_at, 1, 19), '+8 hours') AS INTEGER)"
    op.execute(
        FUND_USAGE.format(
            year=year,
            awarded="SUM(CASE WHEN entry_type = 'award' THEN amount_fen ELSE 0 END) / 100.0",
            reversed="SUM(CASE WHEN entry_type = 'reversal' THEN amount_fen ELSE 0 END) / 100.0",
            committed="SUM(amount_fen) / 100.0",
        )
    )


_LEDGER_COLUMNS = (
    "entry_id, award_key, award_version, application_id, credit_code, enterprise_name, program, clause, "
    "entry_type, reverses_entry_id, amount_yuan, amount_fen, lead_department, rulebook_version, run_id, "
    "recorded_at, basis"
)


def _upgrade_postgresql() -> None:
    op.execute(POSTGRES_CHAIN)
    op.execute(
        "CREATE TRIGGER award_ledger_chain BEFORE INSERT ON award_ledger "
        "FOR EACH ROW EXECUTE FUNCTION award_ledger_chain()"
    )
    money = "CAST({} AS NUMERIC(14, 2))"
    op.execute(
        FUND_USAGE.format(
            year="CAST(EXTRACT(YEAR FROM recorded_at AT TIME ZONE 'Asia/Shanghai') AS INTEGER)",
            awarded=money.format("SUM(CASE WHEN entry_type = 'award' THEN amount_yuan ELSE 0 END)"),
            reversed=money.format("SUM(CASE WHEN entry_type = 'reversal' THEN amount_yuan ELSE 0 END)"),
            committed=money.format("SUM(amount_yuan)"),
        )
    )
    # Roles belong to the whole server: another database may have created it already, possibly at this moment.
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{FINANCE_ROLE}') THEN
            CREATE ROLE {FINANCE_ROLE} NOLOGIN;
          END IF;
        EXCEPTION
          WHEN duplicate_object OR unique_violation THEN NULL;
          WHEN insufficient_privilege THEN
            RAISE EXCEPTION '迁移用户无权创建角色 {FINANCE_ROLE}：请数据库管理员先执行 CREATE ROLE {FINANCE_ROLE} NOLOGIN，再重新运行迁移';
        END $$
        """
    )
    op.execute(f"DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {FINANCE_ROLE}', current_schema()); END $$")
    op.execute(f"GRANT SELECT ON {', '.join(PUBLISHED)} TO {FINANCE_ROLE}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS fund_usage")
    if op.get_bind().dialect.name == "postgresql":
        # The role stays: it is server-wide and other databases may grant it rights.
        relations = ", ".join(name for name in PUBLISHED if name != "fund_usage")
        op.execute(f"REVOKE ALL ON {relations} FROM {FINANCE_ROLE}")
        op.execute(
            f"DO $$ BEGIN EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {FINANCE_ROLE}', current_schema()); END $$"
        )
        op.execute("DROP TRIGGER IF EXISTS award_ledger_chain ON award_ledger")
        op.execute("DROP FUNCTION IF EXISTS award_ledger_chain()")
    else:
        # The corrected amount check stays: restoring 0001's float comparison would refuse rows already booked.
        op.execute("DROP TRIGGER IF EXISTS award_ledger_chain")
        op.execute("DROP TRIGGER IF EXISTS award_ledger_reversal")
