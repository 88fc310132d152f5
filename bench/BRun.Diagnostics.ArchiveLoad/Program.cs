using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using Azure.Storage.Blobs;
using Npgsql;

// Usage: ArchiveLoad BASE_URL TOKEN POSTGRES_CS BLOBS_CS CONTAINER WEB_PID SMALL_RUN_ID
// 1. Uploads a RAW report blob (about 4 KB of JSON) for every distinct raw_file_path of the failures marked uploaded.
// 2. Downloads the archive of one run (the small case) and of everything (the large case) while sampling the web
//    host's resident memory (VmRSS) every 100 ms, and prints bytes, time, reports/s and the peak RSS of each.
// 3. Opens the large archive and counts its entries.
if (args.Length != 7)
{
    Console.Error.WriteLine("usage: ArchiveLoad BASE_URL TOKEN POSTGRES_CS BLOBS_CS CONTAINER WEB_PID SMALL_RUN_ID");
    return 2;
}

var (baseUrl, token, postgres, blobs, containerName, webPid, smallRun) = (args[0], args[1], args[2], args[3], args[4], int.Parse(args[5], CultureInfo.InvariantCulture), args[6]);

var container = new BlobContainerClient(blobs, containerName);
await container.CreateIfNotExistsAsync();
var paths = new List<(Guid Id, string Path)>();
await using (var dataSource = NpgsqlDataSource.Create(postgres))
await using (var command = dataSource.CreateCommand("SELECT DISTINCT ON (raw_file_path) id, raw_file_path FROM failed_generations WHERE report_status = 'uploaded' ORDER BY raw_file_path, id"))
await using (var reader = await command.ExecuteReaderAsync())
{
    while (await reader.ReadAsync())
    {
        paths.Add((reader.GetGuid(0), reader.GetString(1)));
    }
}

var upload = Stopwatch.StartNew();
await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (item, ct) =>
    await container.GetBlobClient(item.Path).UploadAsync(BinaryData.FromString(Report(item.Id)), overwrite: true, ct));
Console.WriteLine($"uploaded {paths.Count:N0} report blobs in {upload.Elapsed.TotalSeconds:F1} s");

using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromHours(1) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
Console.WriteLine($"web host before: VmRSS {Rss("VmRSS") / 1024.0:F0} MiB, VmHWM {Rss("VmHWM") / 1024.0:F0} MiB");
await MeasureAsync("one run", $"/api/failed-generations/export?format=zip&run_id={smallRun}", keepFile: false);
var file = await MeasureAsync("everything", "/api/failed-generations/export?format=zip", keepFile: true);
using (var zip = ZipFile.OpenRead(file))
{
    Console.WriteLine($"large archive: {zip.Entries.Count:N0} entries ({zip.Entries.Count(e => e.FullName.StartsWith("failed-generation-", StringComparison.Ordinal)):N0} reports + index.csv)");
}

File.Delete(file);
Console.WriteLine($"web host after: VmRSS {Rss("VmRSS") / 1024.0:F0} MiB, VmHWM {Rss("VmHWM") / 1024.0:F0} MiB");
return 0;

async Task<string> MeasureAsync(string name, string url, bool keepFile)
{
    using var sampling = new CancellationTokenSource();
    long peak = Rss("VmRSS"), before = peak;
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            peak = Math.Max(peak, Rss("VmRSS"));
            try
            {
                await Task.Delay(100, sampling.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    });

    var path = Path.Combine(Path.GetTempPath(), $"archive-load-{Guid.NewGuid():N}.zip");
    var clock = Stopwatch.StartNew();
    using var response = await http.GetAsync(new Uri(url, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    var firstByte = clock.Elapsed;
    long bytes;
    await using (var body = await response.Content.ReadAsStreamAsync())
    await using (var output = keepFile ? File.Create(path) : Stream.Null)
    {
        var buffer = new byte[81920];
        bytes = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, read));
            bytes += read;
        }
    }

    var elapsed = clock.Elapsed;
    await sampling.CancelAsync();
    await sampler;
    var reports = await CountAsync(url);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name}: {reports:N0} reports, {bytes / 1048576.0:F1} MiB, first byte {firstByte.TotalSeconds:F2} s, done {elapsed.TotalSeconds:F1} s, " +
        $"{reports / elapsed.TotalSeconds:F0} reports/s, web host VmRSS {before / 1024.0:F0} MiB before, peak {peak / 1024.0:F0} MiB during"));
    return path;
}

async Task<long> CountAsync(string url)
{
    var runFilter = url.Contains("run_id=", StringComparison.Ordinal);
    await using var dataSource = NpgsqlDataSource.Create(postgres);
    await using var command = dataSource.CreateCommand(runFilter
        ? "SELECT count(*) FROM failed_generations WHERE run_id = $1"
        : "SELECT count(*) FROM failed_generations");
    if (runFilter)
    {
        command.Parameters.Add(new() { Value = Guid.Parse(smallRun) });
    }

    return (long)(await command.ExecuteScalarAsync())!;
}

long Rss(string field)
{
    foreach (var line in File.ReadLines($"/proc/{webPid}/status"))
    {
        if (line.StartsWith(field + ":", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
    }

    return 0;
}

// About 4 KB of report-like JSON: an id, a conversation cut mid-sentence, and some variety so it does not compress to nothing.
static string Report(Guid id)
{
    var random = new Random(id.GetHashCode());
    string[] words = ["budget", "savings", "retirement", "emergency", "fund", "interest", "mortgage", "plan", "expenses", "income", "goal", "feel", "worried", "month", "debt"];
    var text = new StringBuilder();
    while (text.Length < 3500)
    {
        text.Append(words[random.Next(words.Length)]).Append(' ');
    }

    return "{\"error_report\":{\"failure_id\":\"" + id.ToString("D") + "\",\"failure_type\":\"truncation\",\"stop_reason\":\"end_turn\"},"
        + "\"raw_response\":{\"content\":\"" + text + "\\\\\"}}";
}
