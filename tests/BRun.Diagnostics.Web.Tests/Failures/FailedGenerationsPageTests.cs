using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MudBlazor;

namespace BRun.Diagnostics.Web.Tests.Failures;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class FailedGenerationsPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private FailedGenerationStore Store => Db.Get<FailedGenerationStore>();

    private void SignInAs(AppUser user)
    {
        RegisterSignedInUser(user);
        Services.AddSingleton(Db.Get<FailedGenerationReader>());
        Services.AddScoped<FailureDashboardService>();

        // As in a circuit (after the services: setting it starts the renderer); the prerender's tests set their own.
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
    }

    private IRenderedComponent<FailedGenerationsPage> RenderPage(string url = "/conversations/failed")
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo(url);
        return Render<FailedGenerationsPage>();
    }

    private static IReadOnlyList<string> Rows(IRenderedComponent<FailedGenerationsPage> cut) =>
        [.. cut.FindAll("tbody tr.brun-failure-row").Select(r => r.TextContent)];

    private void PublishFailure(Guid failureId) =>
        Hub.Publish(new RunEvent(RunEvent.TaskFailed, Guid.NewGuid(), Guid.NewGuid(), failureId, RunStatus.Running, 10, 0, 1, 0));

    [Fact]
    public async Task Grid_shows_the_users_failures_with_tokens_and_utilisation_and_not_another_members()
    {
        var owner = await Db.CreateUserAsync();
        var someoneElse = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        await Store.StoreAsync(someoneElse.Id, FailureSeed.ApiError());
        SignInAs(owner);

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        var row = Rows(cut)[0];
        Assert.Equal((true, true, true), (row.Contains("truncation", StringComparison.Ordinal),
            row.Contains("1,003 / 24,576 (4.1%)", StringComparison.Ordinal), row.Contains("claude-sonnet-4-5", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_admins_grid_names_the_owner_of_each_failure()
    {
        var member = await Db.CreateUserAsync(name: "Dana Member");
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        await Store.StoreAsync(member.Id, FailureSeed.Truncation());
        SignInAs(admin);

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        Assert.Contains("Owner", cut.FindAll("th").Select(th => th.TextContent.Trim()));
        Assert.Equal("Dana Member", cut.Find(".brun-cell-owner").TextContent.Trim());
    }

    [Fact]
    public async Task A_members_grid_has_no_owner_column()
    {
        var member = await Db.CreateUserAsync(name: "Dana Member");
        await Store.StoreAsync(member.Id, FailureSeed.Truncation());
        SignInAs(member);

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        Assert.DoesNotContain("Owner", cut.FindAll("th").Select(th => th.TextContent.Trim()));
        Assert.Empty(cut.FindAll(".brun-cell-owner"));
    }

    [Fact]
    public async Task Filter_chips_show_the_count_of_each_value()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Equal(3, Rows(cut).Count), RenderWait);
        await cut.Instance.FacetsLoad;
        string Chip(string dimension, string value) =>
            cut.Find($".brun-filter-chip[data-dimension='{dimension}'][data-value='{value}'] .brun-chip-count").TextContent;
        Assert.Equal(("2", "1", "2", "1"), (Chip("failure_type", "truncation"), Chip("failure_type", "api_error"),
            Chip("model", "claude-sonnet-4-5"), Chip("model", "claude-haiku-4-5")));
    }

    [Fact]
    public async Task A_text_search_shows_its_total_and_chips_from_one_count_of_the_rows()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError("overloaded_error: Overloaded"));
        SignInAs(owner);

        var cut = RenderPage("/conversations/failed?q=bad+gateway");

        cut.WaitForAssertion(() => Assert.Equal("1-1 of 1", cut.Find(".brun-page-range").TextContent.Trim()), RenderWait);
        await cut.Instance.FacetsLoad;
        string Chip(string dimension, string value) =>
            cut.Find($".brun-filter-chip[data-dimension='{dimension}'][data-value='{value}'] .brun-chip-count").TextContent;
        Assert.Equal(("1", 1), (Chip("failure_type", "api_error"), cut.FindAll(".brun-filter-chip[data-dimension='failure_type']").Count));
    }

    [Fact]
    public async Task A_text_search_counts_failures_that_arrive_live_even_while_its_counts_are_being_read()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);
        var cut = RenderPage("/conversations/failed?q=bad+gateway");
        cut.WaitForAssertion(() => Assert.Equal("1-1 of 1", cut.Find(".brun-page-range").TextContent.Trim()), RenderWait);

        // Arrivals faster than a count, each delivered on its own (the window closed after each): each asks for the
        // counts again while a read may still be in flight; the last read must include every one of them.
        for (var i = 0; i < 4; i++)
        {
            PublishFailure(await Store.StoreAsync(owner.Id, FailureSeed.ApiError()));
            Db.Time.Advance(Window);
        }

        cut.WaitForAssertion(() => Assert.Equal(("1-5 of 5", "5"), (cut.Find(".brun-page-range").TextContent.Trim(),
            cut.Find(".brun-filter-chip[data-dimension='failure_type'][data-value='api_error'] .brun-chip-count").TextContent)), RenderWait);
    }

    [Fact]
    public async Task A_chosen_chip_keeps_the_other_values_of_its_group_with_their_counts_under_the_other_filters()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);

        var cut = RenderPage("/conversations/failed?failure_type=api_error");

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        await cut.Instance.FacetsLoad;
        string Chips(string dimension) => string.Join(", ", cut.FindAll($".brun-filter-chip[data-dimension='{dimension}']")
            .Select(c => $"{c.GetAttribute("data-value")} {c.QuerySelector(".brun-chip-count")!.TextContent}{(c.ClassList.Contains("brun-filter-chip-selected") ? " (chosen)" : string.Empty)}"));
        // Failure types are counted without their own filter (switch to truncation: 2); models under it (only haiku).
        Assert.Equal(("api_error 1 (chosen), truncation 2", "claude-haiku-4-5 1"), (Chips("failure_type"), Chips("model")));

        await StableClick.ClickAsync(cut, ".brun-filter-chip[data-dimension='failure_type'][data-value='truncation']");

        cut.WaitForAssertion(() => Assert.Equal(2, Rows(cut).Count), RenderWait);
        Assert.EndsWith("/conversations/failed?failure_type=truncation", Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_date_range_shows_iso_dates_like_the_rest_of_the_app()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);

        var cut = RenderPage("/conversations/failed?from=2026-12-02&to=2026-12-03");

        cut.WaitForAssertion(
            () => Assert.Equal(["2026-12-02", "2026-12-03"], cut.FindAll(".brun-filter-dates input").Select(i => i.GetAttribute("value"))),
            RenderWait);
    }

    [Fact]
    public async Task Clicking_a_chip_filters_the_grid_and_puts_the_filter_in_the_url()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Equal(2, Rows(cut).Count), RenderWait);
        await cut.Instance.FacetsLoad;

        await StableClick.ClickAsync(cut, ".brun-filter-chip[data-dimension='failure_type'][data-value='api_error']");

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        Assert.Contains("api_error", Rows(cut)[0], StringComparison.Ordinal);
        Assert.EndsWith("/conversations/failed?failure_type=api_error", Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filters_in_the_url_query_apply_when_the_page_opens()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError("upstream connect error 503"));
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError("rate limited 429"));
        SignInAs(owner);

        var cut = RenderPage("/conversations/failed?failure_type=api_error&q=upstream");

        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);
        cut.WaitForAssertion(() => Assert.Equal("1 failure", cut.Find(".brun-filter-total").TextContent.Trim()), RenderWait);
    }

    /// <summary>Signs <paramref name="owner"/> in, opens the grid (one row) and clicks View; returns the dialog provider.</summary>
    private async Task<IRenderedComponent<MudDialogProvider>> OpenTheOnlyReportAsync(AppUser owner)
    {
        SignInAs(owner);
        var provider = Render<MudDialogProvider>();
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);

        // Not awaited: the click handler waits for the dialog to close.
        await cut.InvokeAsync(() => cut.Find("button.brun-view").Click());
        return provider;
    }

    [Fact]
    public async Task Report_dialog_shows_token_and_stop_reason_analysis_and_the_cut_point()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        var provider = await OpenTheOnlyReportAsync(owner);

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-report-conclusion")), RenderWait);
        Assert.Equal(("4.1%", "I want to save for \\"), (
            provider.Find(".brun-report-utilisation").TextContent,
            provider.Find(".brun-preview").TextContent[^("I want to save for \\".Length + "✂ cut".Length)..^"✂ cut".Length]));
        Assert.False(string.IsNullOrWhiteSpace(provider.Find(".brun-report-analysis").TextContent));
    }

    [Fact]
    public async Task Report_dialog_of_a_batch_result_shows_its_batch_id_and_custom_id()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation() with
        {
            Batch = new BatchProvenance("msgbatch_01reportdialog", "t0123456789abcdef0123456789abcdef-2", "succeeded"),
        });
        var provider = await OpenTheOnlyReportAsync(owner);

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-report-batch")), RenderWait);
        Assert.Equal("msgbatch_01reportdialog", provider.Find(".brun-report-batch-id").TextContent);
        Assert.Equal("t0123456789abcdef0123456789abcdef-2", provider.Find(".brun-report-custom-id").TextContent);
    }

    [Fact]
    public async Task Report_dialog_of_an_online_failure_has_no_batch_line()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        var provider = await OpenTheOnlyReportAsync(owner);

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-report-conclusion")), RenderWait);
        Assert.Empty(provider.FindAll(".brun-report-batch"));
    }

    [Fact]
    public async Task Report_dialog_counts_the_characters_of_a_long_response_with_thousands_separators()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation(content: new string('a', 4_303) + "\\"));
        var provider = await OpenTheOnlyReportAsync(owner);

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-preview")), RenderWait);
        Assert.Contains("Last 400 of 4,304 characters", provider.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_dialog_shows_script_in_content_as_text()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation(content: "Hello <script>alert('x')</script> and <b>bold"));
        var provider = await OpenTheOnlyReportAsync(owner);

        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-preview")), RenderWait);
        var preview = provider.Find(".brun-preview");
        Assert.Equal((0, 0, true), (preview.QuerySelectorAll("script").Length, preview.QuerySelectorAll("b").Length,
            preview.TextContent.Contains("<script>alert('x')</script>", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_prerender_reads_the_first_view_and_follows_no_live_events()
    {
        var owner = await Db.CreateUserAsync();
        var someoneElse = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        await Store.StoreAsync(someoneElse.Id, FailureSeed.Truncation());
        SignInAs(owner);
        SetRendererInfo(new RendererInfo("Static", isInteractive: false));

        var cut = RenderPage("/conversations/failed?failure_type=truncation");

        // The rows and counts are in the static HTML itself, shown before any circuit exists. (Waiting for the rows, not
        // for Prerendered: that is set a moment before the render that shows it.)
        cut.WaitForAssertion(() => Assert.Equal(2, Rows(cut).Count), RenderWait);
        var first = cut.Instance.Prerendered!;
        Assert.Equal(
            (2, "2", "false"),
            (Rows(cut).Count, cut.Find(".brun-filter-chip[data-dimension='failure_type'][data-value='truncation'] .brun-chip-count").TextContent,
                cut.Find(".brun-failures-page").GetAttribute("data-interactive")));
        var truncations = FailureFilterState.Empty with { FailureType = "truncation" };
        Assert.Equal(
            (2L, 2, 2L, 0, true, false),
            (first.Total, first.Rows.Count, first.Facets.ByFailureType.GetValueOrDefault("truncation"), Hub.SubscriberCount,
                first.Answers(truncations, 0, 25, FailedGenerationSort.NewestFirst), first.Answers(FailureFilterState.Empty, 0, 25, FailedGenerationSort.NewestFirst)));
    }

    [Fact]
    public async Task A_burst_of_live_failures_on_page_one_appears_with_one_reload()
    {
        var owner = await Db.CreateUserAsync();
        await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Single(Rows(cut)), RenderWait);

        // A lone failure after a quiet period is delivered at once; it opens the window that collects the burst.
        var first = await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        PublishFailure(first);
        cut.WaitForAssertion(() => Assert.Equal(2, Rows(cut).Count), RenderWait);
        var loadsBefore = cut.Instance.LoadCount;

        var ids = new List<Guid>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await Store.StoreAsync(owner.Id, FailureSeed.Truncation()));
        }

        foreach (var id in ids)
        {
            PublishFailure(id);
        }

        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Equal(22, Rows(cut).Count), RenderWait);
        Assert.Equal((1, 20), (cut.Instance.LoadCount - loadsBefore, cut.FindAll("tr.brun-failure-row-new").Count));
    }

    [Fact]
    public async Task Live_failure_on_a_later_page_shows_the_new_chip_which_jumps_to_page_one()
    {
        var owner = await Db.CreateUserAsync();
        for (var i = 0; i < 30; i++)
        {
            await Store.StoreAsync(owner.Id, FailureSeed.ApiError());
        }

        SignInAs(owner);
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Equal(25, Rows(cut).Count), RenderWait);
        await StableClick.ClickAsync(cut, "button[aria-label='Next page']");
        cut.WaitForAssertion(() => Assert.Equal(5, Rows(cut).Count), RenderWait);

        var fresh = await Store.StoreAsync(owner.Id, FailureSeed.Truncation());
        PublishFailure(fresh);
        PublishFailure(Guid.NewGuid()); // another member's or unknown: not counted
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Contains("1 new failure", cut.Find(".brun-new-failures").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.Equal(5, Rows(cut).Count);

        await StableClick.ClickAsync(cut, ".brun-new-failures");

        cut.WaitForAssertion(() => Assert.Equal(25, Rows(cut).Count), RenderWait);
        Assert.Empty(cut.FindAll(".brun-new-failures"));
    }

    [Fact]
    public async Task Empty_state_says_there_are_no_failures()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Contains("No failed generations yet.", cut.Find(".brun-failures-empty").TextContent, StringComparison.Ordinal), RenderWait);
    }

    [Fact]
    public async Task Unreachable_database_shows_the_error_state_with_retry()
    {
        var owner = await Db.CreateUserAsync();
        // A real server address where nothing listens: the reader's queries fail as they would in an outage.
        var unreachable = Db.BuildServices(settings => settings["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2");
        var currentUser = new CurrentUser();
        currentUser.SetPrincipal(UserClaims.CreatePrincipal(owner, "test"));
        Services.AddSingleton<ICurrentUser>(currentUser);
        Services.AddSingleton<TimeProvider>(Db.Time);
        Services.AddSingleton(unreachable.GetRequiredService<FailedGenerationReader>());
        Services.AddSingleton(Hub);
        Services.AddScoped<FailureDashboardService>();
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));

        var cut = RenderPage();

        cut.WaitForAssertion(() => Assert.Contains("database did not answer", cut.Find(".brun-failures-problem").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.NotNull(cut.Find(".brun-failures-retry"));
    }
}
