// Studies in Redis, for a cluster: the coordinator (the study grain) may move to another silo, and whichever silo
// hosts it reads and writes the same study. A study is one JSON document (definition, scheduler state, trials) plus
// a hash of reports and a version key; an operation reads the document, applies itself, and writes back with a Lua
// compare-and-set on the version, retrying on conflict, so two activations that briefly overlap during a fail-over
// cannot interleave half-operations. Keys live under "condense:search:" beside whatever else the server holds.
using System.Text.Json;
using Condense.Core;
using Condense.Search.Studies;
using StackExchange.Redis;

namespace Condense.Search.Cluster;

/// <summary>Studies in a Redis server.</summary>
public sealed class RedisStudyStore : IStudyStore
{
    private const string Prefix = "condense:search:";
    private const string CompareAndSet = """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2])
        redis.call('SET', KEYS[2], ARGV[3])
        for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
        return 1
        """;
    // Scores may be NaN (a diverged trial): written as "NaN", not refused.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;

    private sealed class Document
    {
        public required string Definition { get; init; }
        public required string SchedulerState { get; set; }
        public long NextTrial { get; set; }
        public long NextReport { get; set; }
        public List<TrialRecord> Trials { get; set; } = [];
    }

    /// <summary>Connects to <paramref name="address"/>; an unreachable server is an input error naming it.</summary>
    public RedisStudyStore(RedisAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Location = address.ToString();
        try
        {
            _redis = ConnectionMultiplexer.Connect(address.ConnectionString);
        }
        catch (RedisConnectionException ex)
        {
            throw new InputException($"{Location}: Redis is unreachable ({ex.Message.Split('\n')[0].TrimEnd('.')})", ex);
        }
        _db = _redis.GetDatabase();
    }

    /// <inheritdoc/>
    public string Location { get; }

    private static RedisKey DocKey(string name) => Prefix + "study:" + name;
    private static RedisKey VersionKey(string name) => Prefix + "version:" + name;
    private static RedisKey ReportsKey(string name) => Prefix + "reports:" + name;
    private static readonly RedisKey NamesKey = Prefix + "studies";

    /// <inheritdoc/>
    public IReadOnlyList<string> Studies() => [.. _db.SetMembers(NamesKey).Select(v => v.ToString()).Order(StringComparer.Ordinal)];

    /// <inheritdoc/>
    public StudyDefinition? Find(string name)
    {
        var json = _db.StringGet(DocKey(name));
        if (json.IsNull) return null;
        return StudyDefinition.FromJson(Read(name, json).Definition, $"{Location}: study {name}");
    }

    private Document Read(string name, RedisValue json)
    {
        try
        {
            return JsonSerializer.Deserialize<Document>(json.ToString(), Json) ?? throw new InputException($"{Location}: study {name}: empty document");
        }
        catch (JsonException ex)
        {
            throw new InputException($"{Location}: study {name}: unreadable document ({ex.Message.Split('\n')[0]})");
        }
    }

    /// <inheritdoc/>
    public void Create(StudyDefinition definition, string schedulerState)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var doc = new Document { Definition = definition.ToJson(), SchedulerState = schedulerState };
        var tx = _db.CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists(DocKey(definition.Name)));
        _ = tx.StringSetAsync(DocKey(definition.Name), JsonSerializer.Serialize(doc, Json));
        _ = tx.StringSetAsync(VersionKey(definition.Name), "0");
        _ = tx.SetAddAsync(NamesKey, definition.Name);
        if (!tx.Execute()) throw new InputException($"{Location}: study '{definition.Name}' already exists");
    }

    /// <inheritdoc/>
    public T Update<T>(string name, Func<StudySnapshot, T> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        for (int attempt = 0; attempt < 100; attempt++)
        {
            var version = _db.StringGet(VersionKey(name));
            var json = _db.StringGet(DocKey(name));
            if (json.IsNull || version.IsNull) throw new InputException($"{Location}: no study named '{name}'");
            var doc = Read(name, json);
            var snapshot = new StudySnapshot(StudyDefinition.FromJson(doc.Definition, $"{Location}: study {name}"), doc.SchedulerState, doc.NextTrial,
                doc.NextReport, doc.Trials.ToDictionary(t => t.Number), (trial, phase) => FindReport(name, trial, phase));
            var result = operation(snapshot);
            doc.SchedulerState = snapshot.SchedulerState;
            doc.NextTrial = snapshot.NextTrial;
            doc.NextReport = snapshot.NextReport;
            doc.Trials = [.. snapshot.Trials.Values.OrderBy(t => t.Number)];
            var args = new List<RedisValue> { version, JsonSerializer.Serialize(doc, Json), (long.Parse(version.ToString(), System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            foreach (var r in snapshot.AddedReports)
            {
                args.Add($"{r.Trial}:{r.Phase}");
                args.Add(JsonSerializer.Serialize(r, Json));
            }
            var ok = (long)_db.ScriptEvaluate(CompareAndSet, [DocKey(name), VersionKey(name), ReportsKey(name)], [.. args]);
            if (ok == 1) return result;
        }
        throw new InvalidOperationException($"{Location}: study {name}: 100 conflicting writers in a row");
    }

    private ReportRecord? FindReport(string name, long trial, int phase)
    {
        var json = _db.HashGet(ReportsKey(name), $"{trial}:{phase}");
        return json.IsNull ? null : JsonSerializer.Deserialize<ReportRecord>(json.ToString(), Json);
    }

    /// <inheritdoc/>
    public IReadOnlyList<ReportRecord> Reports(string name) =>
        [.. _db.HashValues(ReportsKey(name)).Select(v => JsonSerializer.Deserialize<ReportRecord>(v.ToString(), Json)!).OrderBy(r => r.Sequence)];

    /// <inheritdoc/>
    public void Dispose() => _redis.Dispose();
}
