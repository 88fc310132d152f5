using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Ingests one Message Batches results file of N lines (the simulator's default mix, custom_ids rewritten to N tasks)
// through BatchResultIngester into a throwaway Postgres and Azurite, and reports results/s and peak RSS.
// Usage: dotnet run -c Release --project bench/BRun.Diagnostics.BatchIngest -- [--results N] [--chunk C] [--templates T]
var results = Arg("--results", 100_000);
var chunk = Arg("--chunk", 500);
var templates = Arg("--templates", 400);

var environment = new IntegrationEnvironment();
await environment.InitializeAsync();
var file = Path.Combine(Path.GetTempPath(), $"brun-batch-results-{Guid.NewGuid():N}.jsonl");
try
{
    await using var db = await environment.CreateDatabaseAsync();
    await using var simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { BatchProcessingTime = TimeSpan.Zero });
    var settings = db.Settings();

    // 100,000 tasks go in with one INSERT and one batch row: no command timeout on a shared, loaded machine.
    settings["ConnectionStrings:Postgres"] += ";Command Timeout=0";
    settings["Worker:Enabled"] = "false";
    settings["Batch:IngestChunkSize"] = chunk.ToString(CultureInfo.InvariantCulture);
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    var services = db.BuildServices(
        s =>
        {
            foreach (var (key, value) in settings)
            {
                s[key] = value;
            }
        },
        s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.AddClaudeMessagesClient(o => o.BaseUrl = simulator.BaseUrl.ToString());
            s.AddGenerationPipeline(configuration);
            s.AddBatchMode(configuration);
        });

    var clock = Stopwatch.StartNew();
    var owner = await db.CreateUserAsync();
    var runId = await services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(results, "default", "claude-sonnet-4-5", 4096, 0.7m, RunMode.Batch), CancellationToken.None);
    var store = services.GetRequiredService<MessageBatchStore>();
    var submission = await store.RecordIntentAsync(runId, results, long.MaxValue, p => Encoding.UTF8.GetBytes("{}"), CancellationToken.None)
        ?? throw new InvalidOperationException("nothing to put in the batch");
    await store.MarkSubmittedAsync(submission.BatchRowId, new MessageBatchInfo { Id = "msgbatch_bench", ProcessingStatus = "ended" }, TimeSpan.Zero, CancellationToken.None);

    // A real batch takes minutes to hours at the API, so autovacuum has analysed the run's new tasks before its results
    // arrive; here they arrive at once, and plans made on an empty table's statistics would be measured instead.
    await ScalarAsync<int>(db, "ANALYZE generation_tasks; ANALYZE generation_runs; SELECT 1", new { });
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"setup: {results} tasks in one batch in {clock.Elapsed.TotalSeconds:F1} s"));

    // Result lines from the simulator's own Batches API (default mix), reused with each task's custom_id.
    clock.Restart();
    var samples = await SampleLinesAsync(simulator, templates);
    var customIds = (await QueryAsync<string>(db, "SELECT custom_id FROM generation_tasks WHERE run_id = @runId ORDER BY random()", new { runId })).ToArray();
    long bytes = 0;
    await using (var writer = new StreamWriter(file, false, new UTF8Encoding(false), 1 << 16))
    {
        for (var i = 0; i < customIds.Length; i++)
        {
            var sample = samples[i % samples.Count];
            var line = "{\"custom_id\":\"" + customIds[i] + "\"" + sample[sample.IndexOf(",\"result\"", StringComparison.Ordinal)..];
            bytes += Encoding.UTF8.GetByteCount(line) + 1;
            await writer.WriteAsync(line);
            await writer.WriteAsync('\n');
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"results file: {results} lines, {bytes / 1024.0 / 1024.0:F0} MiB, written in {clock.Elapsed.TotalSeconds:F1} s"));

    var row = (await store.ListForRunAsync(DbIdentity.System, runId, CancellationToken.None)).Single();
    var ingester = services.GetRequiredService<BatchResultIngester>();
    GC.Collect();

    // The peak is ingestion's own: "5" resets VmHWM to the current RSS (Linux), forgetting the setup's 100,000 ids.
    File.WriteAllText("/proc/self/clear_refs", "5");
    var rssStart = Rss("VmRSS");
    var samplesMb = new List<(double Seconds, long Lines, double RssMb)>();
    clock.Restart();
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(5000, sampling.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var done = await ScalarAsync<long>(db, "SELECT results_lines_done FROM message_batches WHERE id = @id", new { id = row.Id });
            lock (samplesMb)
            {
                samplesMb.Add((clock.Elapsed.TotalSeconds, done, Rss("VmRSS")));
            }
        }
    });

    await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
    {
        var summary = await ingester.IngestAsync(row, stream, simulated: true, _ => Task.FromResult(true), CancellationToken.None);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;
        var run = await ScalarAsync<string>(db, "SELECT format('%s succeeded, %s failed', succeeded, failed) FROM generation_runs WHERE id = @runId", new { runId });
        foreach (var (seconds, lines, rss) in samplesMb)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  t={seconds,6:F1}s lines={lines,7} rss_mb={rss:F0}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"results={summary.Lines} chunk={chunk} elapsed_s={clock.Elapsed.TotalSeconds:F1} results_per_s={summary.Lines / clock.Elapsed.TotalSeconds:F0} " +
            $"stored={summary.Stored} failed={summary.Failed} resubmitted={summary.Resubmitted} skipped={summary.Skipped} run=({run}) " +
            $"rss_mb_start={rssStart:F0} rss_mb_peak={Rss("VmHWM"):F0} load={File.ReadAllText("/proc/loadavg").Trim()}"));
    }
}
finally
{
    File.Delete(file);
    await environment.DisposeAsync();
}

static async Task<List<string>> SampleLinesAsync(ClaudeSimulatorServer simulator, int count)
{
    using var http = new HttpClient { BaseAddress = simulator.BaseUrl, Timeout = TimeSpan.FromMinutes(5) };
    var requests = Enumerable.Range(0, count).Select(i => new
    {
        custom_id = $"s{i}",
        @params = new
        {
            model = "claude-sonnet-4-5",
            max_tokens = 4096,
            messages = new[] { new { role = "user", content = $"Persona: bench\nVariation: {i}\nWrite the conversation." } },
        },
    }).ToArray();
    using var created = await http.PostAsJsonAsync("/v1/messages/batches", new { requests });
    var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
    var body = await http.GetStringAsync($"/v1/messages/batches/{id}/results");
    return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
}

static double Rss(string field)
{
    foreach (var line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith(field + ":", StringComparison.Ordinal))
        {
            return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
    }

    return double.NaN;
}

static async Task<IReadOnlyList<T>> QueryAsync<T>(TestDatabase db, string sql, object parameters)
{
    await using var connection = await db.DataSource.OpenConnectionAsync();
    return (await connection.QueryAsync<T>(sql, parameters)).AsList();
}

static async Task<T> ScalarAsync<T>(TestDatabase db, string sql, object parameters)
{
    await using var connection = await db.DataSource.OpenConnectionAsync();
    return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
}

int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
