// The embedded default store: one SQLite file, nothing to install. Every operation is one IMMEDIATE transaction
// (the write lock is taken first), so processes that share the file (workers on one machine) serialize on it and
// see each other's changes; WAL mode lets readers (status) run beside a writer. The file carries a format marker,
// so a foreign database is refused instead of being written into.
using System.Globalization;
using Condense.Core;
using Condense.Search.Scheduling;
using Microsoft.Data.Sqlite;

namespace Condense.Search.Studies;

/// <summary>Studies in one SQLite file.</summary>
public sealed class SqliteStudyStore : IStudyStore
{
    private const string Format = "condense-search-1";
    private readonly SqliteConnection _db;
    private readonly Lock _gate = new();
    private SqliteTransaction? _tx;

    /// <summary>Opens (or creates) the store at <paramref name="path"/>; a file that is not a Condense search store is an
    /// <see cref="InputException"/> naming it.</summary>
    public SqliteStudyStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Location = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(Location);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Location, Pooling = false }.ToString());
        try
        {
            _db.Open();
            Exec("PRAGMA busy_timeout = 30000");
            Exec("PRAGMA journal_mode = WAL");
            Exec("PRAGMA synchronous = NORMAL");
            Initialize();
        }
        catch (SqliteException ex)
        {
            _db.Dispose();
            throw new InputException($"{Location}: not a usable SQLite study store ({ex.Message.Split('\n')[0].TrimEnd('.')})", ex);
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Location { get; }

    private void Initialize()
    {
        using var tx = _tx = _db.BeginTransaction(deferred: false);
        var tables = Strings("SELECT name FROM sqlite_master WHERE type = 'table'");
        if (tables.Count > 0 && !tables.Contains("condense_meta"))
            throw new InputException($"{Location}: a SQLite database of something else (tables: {string.Join(", ", tables.Take(5))}), not a Condense search store");
        Exec("CREATE TABLE IF NOT EXISTS condense_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        var format = Strings("SELECT value FROM condense_meta WHERE key = 'format'");
        if (format.Count == 0) Exec($"INSERT INTO condense_meta(key, value) VALUES ('format', '{Format}')");
        else if (format[0] != Format) throw new InputException($"{Location}: search store format '{format[0]}', this Condense reads '{Format}'");
        Exec("""
            CREATE TABLE IF NOT EXISTS studies(name TEXT PRIMARY KEY, definition TEXT NOT NULL, scheduler_state TEXT NOT NULL,
                next_trial INTEGER NOT NULL, next_report INTEGER NOT NULL, created TEXT NOT NULL)
            """);
        Exec("""
            CREATE TABLE IF NOT EXISTS trials(study TEXT NOT NULL, number INTEGER NOT NULL, config TEXT NOT NULL, state TEXT NOT NULL,
                last_phase INTEGER NOT NULL, next_phase INTEGER NOT NULL, last_score REAL, worker TEXT, lease_until TEXT,
                requeues INTEGER NOT NULL, created TEXT NOT NULL, ended TEXT, error TEXT, PRIMARY KEY(study, number))
            """);
        Exec("""
            CREATE TABLE IF NOT EXISTS reports(study TEXT NOT NULL, trial INTEGER NOT NULL, phase INTEGER NOT NULL, score REAL,
                decision TEXT NOT NULL, worker TEXT NOT NULL, seconds REAL NOT NULL, cost REAL NOT NULL, seq INTEGER NOT NULL,
                time TEXT NOT NULL, PRIMARY KEY(study, trial, phase))
            """);
        tx.Commit();
        _tx = null;
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> Studies()
    {
        lock (_gate) return Strings("SELECT name FROM studies ORDER BY name");
    }

    /// <inheritdoc/>
    public StudyDefinition? Find(string name)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT definition FROM studies WHERE name = $n", ("$n", name));
            return cmd.ExecuteScalar() is string json ? StudyDefinition.FromJson(json, $"{Location}: study {name}") : null;
        }
    }

    /// <inheritdoc/>
    public void Create(StudyDefinition definition, string schedulerState)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (_gate)
        {
            using var tx = _tx = _db.BeginTransaction(deferred: false);
            try
            {
                using (var exists = Command("SELECT COUNT(*) FROM studies WHERE name = $n", ("$n", definition.Name)))
                    if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                        throw new InputException($"{Location}: study '{definition.Name}' already exists");
                using var cmd = Command("INSERT INTO studies VALUES ($n, $d, $s, 0, 0, $t)", ("$n", definition.Name), ("$d", definition.ToJson()),
                    ("$s", schedulerState), ("$t", Time(DateTimeOffset.UtcNow)));
                cmd.ExecuteNonQuery();
                tx.Commit();
            }
            finally { _tx = null; }
        }
    }

    /// <inheritdoc/>
    public T Update<T>(string name, Func<StudySnapshot, T> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        lock (_gate)
        {
            using var tx = _tx = _db.BeginTransaction(deferred: false);
            try
            {
                var snapshot = Load(name);
                var result = operation(snapshot);
                Save(name, snapshot);
                tx.Commit();
                return result;
            }
            finally { _tx = null; }
        }
    }

    private StudySnapshot Load(string name)
    {
        StudyDefinition definition;
        string schedulerState;
        long nextTrial, nextReport;
        using (var cmd = Command("SELECT definition, scheduler_state, next_trial, next_report FROM studies WHERE name = $n", ("$n", name)))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read()) throw new InputException($"{Location}: no study named '{name}'");
            definition = StudyDefinition.FromJson(r.GetString(0), $"{Location}: study {name}");
            schedulerState = r.GetString(1);
            nextTrial = r.GetInt64(2);
            nextReport = r.GetInt64(3);
        }
        var trials = new Dictionary<long, TrialRecord>();
        using (var cmd = Command("SELECT number, config, state, last_phase, next_phase, last_score, worker, lease_until, requeues, created, ended, error FROM trials WHERE study = $n", ("$n", name)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var t = new TrialRecord
                {
                    Number = r.GetInt64(0),
                    ConfigJson = r.GetString(1),
                    State = Enum.Parse<TrialState>(r.GetString(2)),
                    LastPhase = r.GetInt32(3),
                    NextPhase = r.GetInt32(4),
                    LastScore = r.IsDBNull(5) ? null : r.GetDouble(5),
                    Worker = r.IsDBNull(6) ? null : r.GetString(6),
                    LeaseUntil = r.IsDBNull(7) ? null : ParseTime(r.GetString(7)),
                    Requeues = r.GetInt32(8),
                    Created = ParseTime(r.GetString(9)),
                    Ended = r.IsDBNull(10) ? null : ParseTime(r.GetString(10)),
                    Error = r.IsDBNull(11) ? null : r.GetString(11),
                };
                trials.Add(t.Number, t);
            }
        }
        return new StudySnapshot(definition, schedulerState, nextTrial, nextReport, trials, (trial, phase) => FindReport(name, trial, phase));
    }

    private ReportRecord? FindReport(string name, long trial, int phase)
    {
        using var cmd = Command("SELECT trial, phase, score, decision, worker, seconds, cost, seq, time FROM reports WHERE study = $n AND trial = $t AND phase = $p",
            ("$n", name), ("$t", trial), ("$p", phase));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadReport(r) : null;
    }

    private static ReportRecord ReadReport(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt32(1), r.IsDBNull(2) ? double.NaN : r.GetDouble(2),
        Enum.Parse<Decision>(r.GetString(3)), r.GetString(4), r.GetDouble(5), r.GetDouble(6), r.GetInt64(7), ParseTime(r.GetString(8)));

    private void Save(string name, StudySnapshot s)
    {
        using (var cmd = Command("UPDATE studies SET scheduler_state = $s, next_trial = $t, next_report = $r WHERE name = $n",
            ("$s", s.SchedulerState), ("$t", s.NextTrial), ("$r", s.NextReport), ("$n", name)))
            cmd.ExecuteNonQuery();
        foreach (var t in s.DirtyTrials)
        {
            using var cmd = Command("INSERT OR REPLACE INTO trials VALUES ($n, $num, $c, $st, $lp, $np, $ls, $w, $lu, $rq, $cr, $en, $er)",
                ("$n", name), ("$num", t.Number), ("$c", t.ConfigJson), ("$st", t.State.ToString()), ("$lp", t.LastPhase), ("$np", t.NextPhase),
                ("$ls", t.LastScore is { } x && !double.IsNaN(x) ? x : null), ("$w", t.Worker), ("$lu", t.LeaseUntil is { } lu ? Time(lu) : null),
                ("$rq", t.Requeues), ("$cr", Time(t.Created)), ("$en", t.Ended is { } en ? Time(en) : null), ("$er", t.Error));
            cmd.ExecuteNonQuery();
        }
        foreach (var r in s.AddedReports)
        {
            using var cmd = Command("INSERT INTO reports VALUES ($n, $t, $p, $s, $d, $w, $sec, $c, $q, $tm)",
                ("$n", name), ("$t", r.Trial), ("$p", r.Phase), ("$s", double.IsNaN(r.Score) ? null : r.Score), ("$d", r.Decision.ToString()),
                ("$w", r.Worker), ("$sec", r.Seconds), ("$c", r.Cost), ("$q", r.Sequence), ("$tm", Time(r.Time)));
            cmd.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ReportRecord> Reports(string name)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT trial, phase, score, decision, worker, seconds, cost, seq, time FROM reports WHERE study = $n ORDER BY seq", ("$n", name));
            using var r = cmd.ExecuteReader();
            var list = new List<ReportRecord>();
            while (r.Read()) list.Add(ReadReport(r));
            return list;
        }
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    private void Exec(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    private List<string> Strings(string sql)
    {
        using var cmd = Command(sql);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
