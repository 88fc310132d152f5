using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary><c>GET /api/failed-generations/export?format=zip</c>: the RAW reports themselves, in bulk.</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class FailureReportArchiveTests(IntegrationEnvironment env)
{
    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string url, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(url, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static FailedGenerationStore Store(DashboardHost host) => host.Services.GetRequiredService<FailedGenerationStore>();

    /// <summary>A run of four failures (one still waiting for its upload) plus one failure of another run.</summary>
    private static async Task<(Guid Run, List<Guid> Failures, Guid Pending)> SeedRunAsync(DashboardHost host, AppUser owner)
    {
        var run = await host.CreateRunAsync(owner);
        var failures = new List<Guid>
        {
            await Store(host).StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 998, runId: run)),
            await Store(host).StoreAsync(owner.Id, FailureSeed.Truncation(content: "Plan your budget and then", outputTokens: 1010, runId: run)),
            await Store(host).StoreAsync(owner.Id, FailureSeed.ApiError() with { RunId = run }),
            await Store(host).StoreAsync(owner.Id, FailureSeed.ApiError("upstream reset") with { RunId = run }),
        };
        await Store(host).StoreAsync(owner.Id, FailureSeed.Truncation());

        // As if the blob upload had not happened yet: the archive must fall back to the row, as the single download does.
        var pending = failures[1];
        await using var command = host.Db.DataSource.CreateCommand(
            "UPDATE failed_generations SET report_status = 'pending', raw_file_path = NULL WHERE id = $1");
        command.Parameters.Add(new() { Value = pending });
        await command.ExecuteNonQueryAsync();
        return (run, failures, pending);
    }

    private static async Task<ZipArchive> ReadZipAsync(HttpResponseMessage response)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
    }

    private static async Task<byte[]> ReadEntryAsync(ZipArchiveEntry entry)
    {
        await using var stream = await entry.OpenAsync();
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static async Task<List<Dictionary<string, string>>> ReadIndexAsync(ZipArchive zip)
    {
        var text = System.Text.Encoding.UTF8.GetString(await ReadEntryAsync(zip.GetEntry("index.csv")!));
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        // The seeded values contain no commas or quotes, so a plain split reads them.
        return [.. lines.Skip(1).Select(line => header.Zip(line.Split(',')).ToDictionary(p => p.First, p => p.Second))];
    }

    [Fact]
    public async Task Archive_of_a_run_has_one_entry_per_failure_each_byte_identical_to_the_single_download()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var (run, failures, _) = await SeedRunAsync(host, owner);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/export?format=zip&run_id={run}", token);
        using var zip = await ReadZipAsync(response);

        var reportEntries = zip.Entries.Where(e => e.FullName != "index.csv").ToList();
        Assert.Equal(
            failures.Select(FailedGenerationReader.ReportFileName).Order(StringComparer.Ordinal),
            reportEntries.Select(e => e.FullName).Order(StringComparer.Ordinal));
        foreach (var id in failures)
        {
            using var single = await GetAsync(client, $"/api/failed-generations/{id}/report", token);
            Assert.Equal(await single.Content.ReadAsByteArrayAsync(), await ReadEntryAsync(zip.GetEntry(FailedGenerationReader.ReportFileName(id))!));
        }
    }

    [Fact]
    public async Task Archive_is_an_attachment_zip()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations/export?format=zip", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("failed-generation-reports.zip", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
    }

    [Fact]
    public async Task Index_lists_every_entry_with_its_row_and_marks_the_report_rebuilt_from_the_row()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var (run, failures, pending) = await SeedRunAsync(host, owner);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/export?format=zip&run_id={run}", token);
        using var zip = await ReadZipAsync(response);
        var index = await ReadIndexAsync(zip);

        Assert.Equal(
            zip.Entries.Where(e => e.FullName != "index.csv").Select(e => e.FullName),
            index.Select(row => row["file"]));
        Assert.Equal(
            failures.Select(id => (id.ToString(), id == pending ? "rebuilt" : "storage")).Order(),
            index.Select(row => (row["id"], row["report_source"])).Order());
        Assert.All(index, row => Assert.Equal(run.ToString(), row["run_id"]));
    }

    [Fact]
    public async Task Index_row_carries_the_reports_facts()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var (run, failures, _) = await SeedRunAsync(host, owner);
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/export?format=zip&run_id={run}&failure_type=truncation", token);
        using var zip = await ReadZipAsync(response);
        var row = (await ReadIndexAsync(zip)).Single(r => r["id"] == failures[0].ToString());
        using var report = JsonDocument.Parse(await ReadEntryAsync(zip.GetEntry(row["file"])!));

        var section = report.RootElement.GetProperty("error_report");
        Assert.Equal(
            (section.GetProperty("failure_type").GetString(), "end_turn", "lone_backslash", "req_011", "998"),
            (row["failure_type"], row["stop_reason"], row["truncation_pattern"], row["request_id"], row["output_tokens"]));
    }

    [Fact]
    public async Task Members_archive_of_an_admins_run_is_empty()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var admin = await host.CreateUserAsync(AppUserRoles.Admin);
        var member = await host.CreateUserAsync();
        var (run, _, _) = await SeedRunAsync(host, admin);
        var token = await host.CreateTokenAsync(member);
        using var client = host.NewClient();

        using var response = await GetAsync(client, $"/api/failed-generations/export?format=zip&run_id={run}", token);
        using var zip = await ReadZipAsync(response);

        Assert.Equal(["index.csv"], zip.Entries.Select(e => e.FullName));
        Assert.Empty(await ReadIndexAsync(zip));
    }

    [Fact]
    public async Task Unknown_format_is_a_problem_naming_the_parameter()
    {
        await using var host = await DashboardHost.StartAsync(env);
        var owner = await host.CreateUserAsync();
        var token = await host.CreateTokenAsync(owner);
        using var client = host.NewClient();

        using var response = await GetAsync(client, "/api/failed-generations/export?format=tar", token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("format", problem.RootElement.GetProperty("parameter").GetString());
    }
}
