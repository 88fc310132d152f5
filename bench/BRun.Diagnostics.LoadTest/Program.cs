using System.Diagnostics;
using System.Globalization;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Usage: dotnet run -c Release --project bench/BRun.Diagnostics.LoadTest -- [--tasks N] [--latency-ms L] [--in-flight M]
//        [--prefix-chars C] [--runs R]
// --prefix-chars puts C characters of shared instructions before the default template's first placeholder, so the
// prompt's shared prefix can be cached; --runs repeats the run, and the cost lines show what caching saved.
var tasks = Arg("--tasks", 2000);
var latencyMs = Arg("--latency-ms", 0);
var inFlight = Arg("--in-flight", 32);
var prefixChars = Arg("--prefix-chars", 0);
var repeat = Arg("--runs", 1);

var environment = new IntegrationEnvironment();
await environment.InitializeAsync();
try
{
    await using var db = await environment.CreateDatabaseAsync();
    var latency = TimeSpan.FromMilliseconds(latencyMs);
    await using var simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { MinLatency = latency, MaxLatency = latency, RetryAfterSeconds = 0 });
    var settings = db.Settings();
    settings["Worker:MaxInFlight"] = inFlight.ToString(CultureInfo.InvariantCulture);
    settings["Worker:PollInterval"] = "00:00:00.200";
    // Transient answers go back to the queue; a short backoff keeps the figures about throughput, not waiting.
    settings["ApiRetry:BaseDelay"] = "00:00:00.050";
    settings["ApiRetry:MaxDelay"] = "00:00:00.200";
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    var services = db.BuildServices(
        s =>
        {
            s["Worker:MaxInFlight"] = settings["Worker:MaxInFlight"];
            s["Worker:PollInterval"] = settings["Worker:PollInterval"];
            s["ApiRetry:BaseDelay"] = settings["ApiRetry:BaseDelay"];
            s["ApiRetry:MaxDelay"] = settings["ApiRetry:MaxDelay"];
        },
        s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.AddClaudeMessagesClient(o =>
            {
                o.BaseUrl = simulator.BaseUrl.ToString();
                o.BaseDelay = TimeSpan.FromMilliseconds(5);
                o.MaxDelay = TimeSpan.FromMilliseconds(20);
            });
            s.AddGenerationPipeline(configuration);
        });

    var owner = await db.CreateUserAsync();
    var runs = services.GetRequiredService<RunStore>();
    var template = "default";
    if (prefixChars > 0)
    {
        template = "bench-shared-prefix";
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await using var insert = new Npgsql.NpgsqlCommand(
            "INSERT INTO prompt_templates (name, body) SELECT @name, @prefix || body FROM prompt_templates WHERE name = 'default'", connection);
        insert.Parameters.AddWithValue("name", template);
        insert.Parameters.AddWithValue("prefix", SharedInstructions(prefixChars));
        await insert.ExecuteNonQueryAsync();
    }

    var worker = services.GetRequiredService<BatchGenerationWorker>();
    await worker.StartAsync(CancellationToken.None);
    for (var round = 1; round <= repeat; round++)
    {
        var runId = await runs.CreateAsync(owner.Id, new CreateRunRequest(tasks, template, "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
        GC.Collect();
        var process = Process.GetCurrentProcess();
        var baselineMb = process.WorkingSet64 / 1024.0 / 1024.0;
        var clock = Stopwatch.StartNew();
        var peakInFlight = 0;
        var peakMb = baselineMb;
        RunSnapshot run;
        while (true)
        {
            await Task.Delay(100);
            peakInFlight = Math.Max(peakInFlight, worker.InFlightCount);
            process.Refresh();
            peakMb = Math.Max(peakMb, process.WorkingSet64 / 1024.0 / 1024.0);
            run = (await runs.GetAsync(DbIdentity.System, runId, CancellationToken.None))!;
            if (run.FinishedAt is not null)
            {
                break;
            }
        }

        clock.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"run={round} tasks={tasks} latency_ms={latencyMs} max_in_flight={inFlight} elapsed_s={clock.Elapsed.TotalSeconds:F1} tasks_per_s={tasks / clock.Elapsed.TotalSeconds:F1} " +
            $"succeeded={run.Succeeded} failed={run.Failed} peak_in_flight={peakInFlight} working_set_mb_start={baselineMb:F0} working_set_mb_peak={peakMb:F0} simulator_requests={simulator.RequestCount}"));
        await PrintCostAsync(db, runId, run);
    }

    await worker.StopAsync(CancellationToken.None);
}
finally
{
    await environment.DisposeAsync();
}

// What the run's calls cost, and what the same tokens would have cost with no prompt caching (every cached token
// billed as plain input). Prices from the default price table.
static async Task PrintCostAsync(TestDatabase db, Guid runId, RunSnapshot run)
{
    await using var connection = await db.DataSource.OpenConnectionAsync();
    await using var command = new Npgsql.NpgsqlCommand(
        """
        SELECT count(*), COALESCE(sum(input_tokens), 0), COALESCE(sum(cache_creation_input_tokens), 0),
               COALESCE(sum(cache_read_input_tokens), 0), COALESCE(sum(output_tokens), 0), COALESCE(sum(cost_usd), 0)
        FROM generation_calls WHERE run_id = @runId
        """, connection);
    command.Parameters.AddWithValue("runId", runId);
    await using var reader = await command.ExecuteReaderAsync();
    await reader.ReadAsync();
    var (calls, input, write, read, output, cost) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5));
    var price = BRun.Diagnostics.Core.Pricing.PriceTable.CreateDefault().Find("claude-sonnet-4-5")!;
    var uncachedInput = (input + write + read) * price.InputPerMTok / 1_000_000m;
    var cachedInput = (input * price.InputPerMTok + write * price.CacheWritePerMTok + read * price.CacheReadPerMTok) / 1_000_000m;
    var outputCost = output * price.OutputPerMTok / 1_000_000m;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  calls={calls} input_tokens={input} cache_write_tokens={write} cache_read_tokens={read} output_tokens={output} " +
        $"cost_usd={cost:F4} run_cost_usd={run.CostUsd:F4} failed_cost_usd={run.FailedCostUsd:F4} " +
        $"input_cost_usd={cachedInput:F4} input_cost_without_cache_usd={uncachedInput:F4} " +
        $"input_saving={(uncachedInput == 0 ? 0 : 1 - (cachedInput / uncachedInput)):P1} total_saving={(uncachedInput + outputCost == 0 ? 0 : 1 - ((cachedInput + outputCost) / (uncachedInput + outputCost))):P1}"));
}

// Realistic shared instructions (a style guide), repeated to the requested length.
static string SharedInstructions(int chars)
{
    const string Guide = "Style guide for every conversation: write as a calm, warm, plain-spoken planner; name the feeling before the figures; " +
        "use real numbers with units and dates; never promise returns; suggest a fee-only professional when taxes, estates or insurance decide the answer; " +
        "keep each assistant turn under 180 words; end every assistant turn with a complete sentence. ";
    var text = new System.Text.StringBuilder(chars + Guide.Length);
    while (text.Length < chars)
    {
        text.Append(Guide);
    }

    return text.ToString(0, chars) + "\n\n";
}

int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
