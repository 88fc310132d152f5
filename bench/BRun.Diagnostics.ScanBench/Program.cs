using System.Diagnostics;
using System.Globalization;
using System.Text;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Testing;
using Npgsql;
using NpgsqlTypes;

// Two measurements against a throwaway Postgres and Azurite (the test fixtures' starters):
//   scan   (default): seeds N stored conversations of about K KB (every C-th one cut mid-word), then times a dry-run scan
//                     and a real scan of them with QuarantineScanner, database read included; prints conversations/s
//                     and the ratio to the 5,000/s goal.
//   import: generates a JSONL file of about M MB (20 KB lines, every C-th cut, every B-th not JSON), imports it with
//           DatasetImporter (the CLI/API/dashboard path) and prints the process's peak working set.
// Usage: dotnet run -c Release --project bench/BRun.Diagnostics.ScanBench -- [scan] [--rows N] [--kb K] [--cut-every C]
//        dotnet run -c Release --project bench/BRun.Diagnostics.ScanBench -- import [--mb M] [--cut-every C] [--bad-every B]
const double Goal = 5_000;
var mode = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !int.TryParse(a, out _)) ?? "scan";
var cutEvery = Arg("--cut-every", 100);

var environment = new IntegrationEnvironment();
await environment.InitializeAsync();
try
{
    await using var db = await environment.CreateDatabaseAsync();
    var owner = await db.CreateUserAsync();
    if (mode == "import")
    {
        await ImportAsync(db, owner.Id, Arg("--mb", 500), cutEvery, Arg("--bad-every", 1000));
    }
    else
    {
        await ScanAsync(db, owner.Id, Arg("--rows", 20_000), Arg("--kb", 20), cutEvery);
    }
}
finally
{
    await environment.DisposeAsync();
}

async Task ScanAsync(TestDatabase db, Guid owner, int rows, int kb, int cut)
{
    var clock = Stopwatch.StartNew();
    var (datasetId, bytes) = await SeedAsync(db, owner, rows, kb * 1024, cut);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"seeded {rows:N0} conversations, {bytes / 1024.0 / rows:F1} KB of turns each ({bytes / 1048576.0:F0} MB), every {cut}th cut, in {clock.Elapsed.TotalSeconds:F1} s"));
    await using (var connection = await db.DataSource.OpenConnectionAsync())
    {
        await using var analyze = new NpgsqlCommand("VACUUM ANALYZE conversations", connection);
        await analyze.ExecuteNonQueryAsync();
    }

    // Where the time goes: the database read alone (one reader, no locks) and the validator alone (one core).
    var texts = new List<string>(rows);
    clock.Restart();
    await using (var connection = await db.DataSource.OpenConnectionAsync())
    {
        await using var read = new NpgsqlCommand("SELECT turns::text, metadata::text FROM conversations ORDER BY id", connection);
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            texts.Add(StoredConversation.ContentJson(reader.GetString(1), reader.GetString(0)));
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read only (one query, no locks): {rows / clock.Elapsed.TotalSeconds:N0} conv/s"));
    await using (var connection = await db.DataSource.OpenConnectionAsync())
    {
        foreach (var (what, sql) in new[]
        {
            ("server only: detoast + turns as text", "SELECT sum(octet_length(turns::text)) FROM conversations"),
            ("server only: detoast + parse as jsonb + print (more than jsonb cost before 0085)", "SELECT sum(octet_length(turns::jsonb::text)) FROM conversations"),
        })
        {
            clock.Restart();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteScalarAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {rows / clock.Elapsed.TotalSeconds:N0} conv/s"));
        }
    }
    var validator = db.Get<BRun.Diagnostics.Core.Validation.ResponseValidator>();
    clock.Restart();
    var bad = texts.Count(t => !validator.ValidateContent(t).IsOk);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validate only (one core): {rows / clock.Elapsed.TotalSeconds:N0} conv/s ({bad} flagged)"));
    texts.Clear();

    var scanner = db.Get<QuarantineScanner>();
    foreach (var dryRun in new[] { true, false })
    {
        var scanId = await scanner.StartAsync(owner, ScanScope.Dataset(datasetId), dryRun, CancellationToken.None);
        clock.Restart();
        var result = await scanner.RunAsync(owner, scanId, null, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = result.Scanned / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(dryRun ? "dry-run" : "real   ")} scan: {result.Scanned:N0} scanned, {result.Flagged:N0} flagged, {result.Quarantined:N0} moved in {seconds:F2} s = {rate:N0} conv/s = {rate / Goal:F2} x the 5,000/s goal ({rate * bytes / rows / 1048576.0:F0} MB/s)"));
    }

    Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
}

// Rows go in with binary COPY as the owner: the seeding is not what is measured.
static async Task<(Guid DatasetId, long Bytes)> SeedAsync(TestDatabase db, Guid owner, int rows, int bytesPerRow, int cut)
{
    await using var connection = await db.DataSource.OpenConnectionAsync();
    Guid datasetId;
    await using (var insert = new NpgsqlCommand("INSERT INTO datasets (name, created_by) VALUES ('bench', @owner) RETURNING id", connection))
    {
        insert.Parameters.AddWithValue("owner", owner);
        datasetId = (Guid)(await insert.ExecuteScalarAsync())!;
    }

    long bytes = 0;
    await using var copy = await connection.BeginBinaryImportAsync(
        "COPY conversations (id, model, turns, metadata, dataset_id, source, created_by) FROM STDIN (FORMAT BINARY)");
    for (var i = 0; i < rows; i++)
    {
        var turns = TrainingRecord.WriteTurns(Turns(i, bytesPerRow, i % cut == 0));
        bytes += turns.Length;
        await copy.StartRowAsync();
        await copy.WriteAsync(Guid.NewGuid(), NpgsqlDbType.Uuid);
        await copy.WriteAsync("claude-sonnet-4-5", NpgsqlDbType.Text);
        await copy.WriteAsync(turns, NpgsqlDbType.Json);
        await copy.WriteAsync("{\"persona\": \"bench\", \"turn_count\": 10}", NpgsqlDbType.Jsonb);
        await copy.WriteAsync(datasetId, NpgsqlDbType.Uuid);
        await copy.WriteAsync("import", NpgsqlDbType.Text);
        await copy.WriteAsync(owner, NpgsqlDbType.Uuid);
    }

    await copy.CompleteAsync();
    return (datasetId, bytes);
}

// Ten turns of varied prose adding up to about bytesPerRow; a cut one ends its last answer mid-word.
static List<ConversationTurn> Turns(int seed, int bytesPerRow, bool cut)
{
    string[] sentences =
    [
        "It makes sense that the numbers feel heavy right now, and it is fine to start with one small step.",
        "Let's write down what comes in each month and what goes out, without judging any of it yet.",
        "You mentioned the card with the highest rate; paying that one first usually saves the most.",
        "If a week goes badly, the plan still works: we adjust the next week instead of starting over.",
        "Would it help to set aside a fixed amount for the things you enjoy, so the budget feels livable?",
        "Quoting your note: \"I always forget the annual fees\" — so we add them as a monthly line of 1/12 each.",
    ];
    var turns = new List<ConversationTurn>(10);
    var perTurn = bytesPerRow / 10;
    var text = new StringBuilder(perTurn + 128);
    for (var t = 0; t < 10; t++)
    {
        text.Clear();
        text.Append(CultureInfo.InvariantCulture, $"({seed}/{t}) ");
        var k = seed + t;
        while (text.Length < perTurn - 40)
        {
            text.Append(sentences[k++ % sentences.Length]).Append(' ');
        }

        var last = t == 9;
        text.Append(last && cut ? "so let's work through it togeth" : "That is where we start.");
        turns.Add(new ConversationTurn(t % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant, text.ToString()));
    }

    return turns;
}

async Task ImportAsync(TestDatabase db, Guid owner, int megabytes, int cut, int bad)
{
    var file = Path.Combine(Path.GetTempPath(), $"brun-import-bench-{Guid.NewGuid():N}.jsonl");
    try
    {
        var clock = Stopwatch.StartNew();
        long lines = 0;
        await using (var writer = new StreamWriter(file, false, new UTF8Encoding(false), 1 << 16))
        {
            while (writer.BaseStream.Position < (long)megabytes * 1048576)
            {
                var turns = Turns((int)lines, 20 * 1024, lines % cut == 0);
                var line = lines % bad == 1
                    ? "not json " + lines
                    : "{\"messages\": " + TrainingRecord.WriteTurns(turns) + "}";
                await writer.WriteLineAsync(line);
                lines++;
            }
        }

        var size = new FileInfo(file).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {size / 1048576.0:F0} MB, {lines:N0} lines in {clock.Elapsed.TotalSeconds:F1} s"));

        // The peak so far is the generator's; reset the baseline by measuring after a full collection.
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var before = process.WorkingSet64;
        clock.Restart();
        ImportSummary summary;
        long peakDuringImport = before;
        using var sampling = new CancellationTokenSource();

        // Samples the working set while the import runs: the process-lifetime peak also counts the generator.
        var sampler = Task.Run(async () =>
        {
            using var self = Process.GetCurrentProcess();
            while (!sampling.IsCancellationRequested)
            {
                self.Refresh();
                peakDuringImport = Math.Max(peakDuringImport, self.WorkingSet64);
                await Task.Delay(50, CancellationToken.None);
            }
        });
        await using (var stream = File.OpenRead(file))
        {
            summary = await db.Get<DatasetImporter>().ImportStreamAsync(owner, "big", TrainingFormat.OpenAi, Path.GetFileName(file), stream, CancellationToken.None);
        }

        await sampling.CancelAsync();
        await sampler;

        var seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"imported {size / 1048576.0:F0} MB: {summary.Records:N0} records, {summary.Imported:N0} imported, {summary.Rejected:N0} rejected, {summary.BadLines:N0} bad lines in {seconds:F1} s ({size / 1048576.0 / seconds:F1} MB/s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"working set before import {before / 1048576.0:F0} MB, peak during the import {peakDuringImport / 1048576.0:F0} MB, after {process.WorkingSet64 / 1048576.0:F0} MB, peak of the process {process.PeakWorkingSet64 / 1048576.0:F0} MB"));
        Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
    }
    finally
    {
        File.Delete(file);
    }
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
