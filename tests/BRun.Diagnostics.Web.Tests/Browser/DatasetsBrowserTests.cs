using System.Text;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// The Datasets page in headless Chromium against the real host: upload a file, scan, see the quarantined row, release it.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class DatasetsBrowserTests(IntegrationEnvironment env) : IAsyncLifetime
{
    // Bounds each wait on a shared 2-core machine; nothing asserts speed.
    private const float WaitMs = 30_000;

    private BrowserSession? _session;

    private BrowserHost Host => _session!.Host;

    public async Task InitializeAsync() =>
        _session = await BrowserSession.StartAsync(env, new Dictionary<string, string?> { ["Worker:Enabled"] = "false" });

    public async Task DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }
    }

    private static string Line(string assistant) =>
        $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"Help me budget.\"}}, {{\"role\": \"assistant\", \"content\": \"{assistant}\"}}]}}";

    [Fact]
    public async Task Upload_then_scan_shows_the_cut_row_quarantined_and_a_reasoned_release_puts_it_back()
    {
        var owner = await Host.CreateUserAsync();
        var page = await SignInAsync(owner, "/datasets");

        // The upload: the cut line is rejected at the door (a failed generation), the good ones are imported.
        await page.Locator(".brun-import-label input").FillAsync("browser-chats");
        await page.Locator(".brun-import-label input").BlurAsync();
        await page.Locator(".brun-import-file input[type=file]").SetInputFilesAsync(new FilePayload
        {
            Name = "chats.jsonl",
            MimeType = "application/x-ndjson",
            Buffer = Encoding.UTF8.GetBytes(string.Join('\n', Line("Start small."), Line("Let's list what you owe togeth"), Line("Good."))),
        });
        await Assertions.Expect(page.Locator(".brun-import-summary")).ToContainTextAsync("2 imported, 1 rejected", new() { Timeout = WaitMs });

        // A row of the same dataset stored before today's rules (as an old pipeline wrote it): what a scan is for.
        await SeedOldCutRowAsync(owner.Id, "browser-chats");
        await page.ReloadAsync();
        await WaitForCircuitAsync(page);
        await page.Locator(".brun-scan-dry-run input").SetCheckedAsync(false, new() { Force = true });
        await page.Locator(".brun-scan-start").ClickAsync();

        var finding = page.Locator(".brun-finding-row[data-action=quarantined]");
        await Assertions.Expect(finding).ToContainTextAsync("mid_word", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-scan-status")).ToHaveTextAsync("completed", new() { Timeout = WaitMs });
        await finding.Locator(".brun-release").ClickAsync();
        await Assertions.Expect(page.Locator("button.brun-release-confirm")).ToBeDisabledAsync(new() { Timeout = WaitMs });
        await page.Locator(".brun-release-reason textarea").FillAsync("A quoted fragment; complete as written.");
        await page.Locator("button.brun-release-confirm").ClickAsync();

        await Assertions.Expect(page.Locator(".brun-finding-released")).ToContainTextAsync("A quoted fragment; complete as written.", new() { Timeout = WaitMs });
        await Assertions.Expect(page.Locator(".brun-dataset-row .brun-dataset-rows")).ToHaveTextAsync("3", new() { Timeout = WaitMs });
    }

    private async Task SeedOldCutRowAsync(Guid owner, string datasetName)
    {
        await using var connection = await Host.Db.DataSource.OpenConnectionAsync();
        var turns = TrainingRecord.WriteTurns([new(ConversationRole.User, "Help."), new(ConversationRole.Assistant, "You mentioned feeling overwhelmed, so let's togeth")]);
        await connection.ExecuteAsync(
            """
            INSERT INTO conversations (model, turns, dataset_id, source, created_by)
            SELECT 'm', @turns::jsonb, id, 'import', @owner FROM datasets WHERE name = @datasetName AND created_by = @owner
            """,
            new { turns, datasetName, owner });
    }

    private async Task<IPage> SignInAsync(AppUser user, string path)
    {
        var page = await _session!.SignInAsync(user, path, WaitMs);
        await page.WaitForURLAsync("**" + path, new() { WaitUntil = WaitUntilState.Commit });
        await WaitForCircuitAsync(page);
        return page;
    }

    /// <summary>Right after prerender a click or an upload can be lost: wait for Blazor and the page's first interactive render.</summary>
    private static async Task WaitForCircuitAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => window.Blazor !== undefined");
        await page.Locator(".brun-datasets-page[data-interactive='true']").WaitForAsync();
    }
}
