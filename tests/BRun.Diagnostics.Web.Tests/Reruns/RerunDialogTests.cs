using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Reruns;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor;

namespace BRun.Diagnostics.Web.Tests.Reruns;

/// <summary>The bulk re-run confirmation: the count and estimated cost, Confirm disabled while invalid, and the new run.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RerunDialogTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private void SignInAs(AppUser user)
    {
        RegisterSignedInUser(user);
        Services.AddSingleton(new RunRerunStore(Db.Get<IUserScopedConnectionFactory>(), PriceTable.CreateDefault(), Db.Time, NullLogger<RunRerunStore>.Instance));
        Services.AddScoped<RerunService>();
    }

    /// <summary>A run of <paramref name="owner"/> (claude-sonnet-4-5, max_tokens 1,024) with two failed tasks of 1,000 input tokens each.</summary>
    private async Task<Guid> FailedRunAsync(AppUser owner)
    {
        var runId = await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time)
            .CreateAsync(owner.Id, new CreateRunRequest(3, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        await FailedTaskSeed.FailTasksAsync(Db.DataSource, owner.Id, runId, [0, 1]);
        return runId;
    }

    private async Task<(IRenderedComponent<MudDialogProvider> Provider, IDialogReference Dialog)> OpenAsync(Guid runId)
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<RerunDialog> { { d => d.Filter, FailureFilterState.Empty with { RunId = runId } } };
        var dialog = await provider.InvokeAsync(() => dialogs.ShowAsync<RerunDialog>("Re-run", parameters));
        return (provider, dialog);
    }

    /// <summary>Opens the dialog on the signed-in owner's two failures, once they are counted.</summary>
    private async Task<(IRenderedComponent<MudDialogProvider> Provider, IDialogReference Dialog, Guid RunId)> OpenOnOwnFailuresAsync()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await FailedRunAsync(owner);
        SignInAs(owner);
        var (provider, dialog) = await OpenAsync(runId);
        provider.WaitForAssertion(() => Assert.Equal("2", provider.Find(".brun-rerun-count").TextContent), RenderWait);
        return (provider, dialog, runId);
    }

    private static Task SetMaxTokensAsync(IRenderedComponent<MudDialogProvider> provider, int value)
    {
        var field = provider.FindComponents<MudNumericField<int?>>().Single(f => f.Instance.Class?.Contains("brun-rerun-max-tokens", StringComparison.Ordinal) == true);
        return provider.InvokeAsync(() => field.Instance.ValueChanged.InvokeAsync(value));
    }

    private static bool ConfirmDisabled(IRenderedComponent<MudDialogProvider> provider) => provider.Find(".brun-rerun-confirm").HasAttribute("disabled");

    [Fact]
    public async Task The_dialog_shows_the_count_and_the_estimated_cost_and_can_be_confirmed()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await FailedRunAsync(owner);
        SignInAs(owner);

        var (provider, _) = await OpenAsync(runId);

        // claude-sonnet-4-5: 2 x (1,000 in at $3/MTok + 1,024 out at $15/MTok) = $0.03672.
        provider.WaitForAssertion(() => Assert.Equal("2", provider.Find(".brun-rerun-count").TextContent), RenderWait);
        Assert.Contains("at most $0.0367", provider.Find(".brun-rerun-cost").TextContent, StringComparison.Ordinal);
        Assert.False(ConfirmDisabled(provider));
    }

    [Fact]
    public async Task A_new_max_tokens_is_counted_into_the_estimate()
    {
        var (provider, _, _) = await OpenOnOwnFailuresAsync();

        await SetMaxTokensAsync(provider, 8192);

        // 2 x (1,000 x $3 + 8,192 x $15) / 1M = $0.25176.
        provider.WaitForAssertion(() => Assert.Contains("at most $0.2518", provider.Find(".brun-rerun-cost").TextContent, StringComparison.Ordinal), RenderWait);
    }

    [Fact]
    public async Task An_invalid_max_tokens_shows_the_problem_and_disables_confirm()
    {
        var (provider, _, _) = await OpenOnOwnFailuresAsync();

        await SetMaxTokensAsync(provider, 200_000);

        provider.WaitForAssertion(() => Assert.Contains("max_tokens must be", provider.Find(".brun-rerun-problem").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.True(ConfirmDisabled(provider));
    }

    [Fact]
    public async Task Another_members_failures_count_zero_and_confirm_stays_disabled()
    {
        var owner = await Db.CreateUserAsync();
        var stranger = await Db.CreateUserAsync();
        var runId = await FailedRunAsync(owner);
        SignInAs(stranger);

        var (provider, _) = await OpenAsync(runId);

        provider.WaitForAssertion(() => Assert.Contains("Nothing to re-run", provider.Find(".brun-rerun-problem").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.True(ConfirmDisabled(provider));
    }

    [Fact]
    public async Task Confirm_creates_the_rerun_and_closes_with_its_id()
    {
        var (provider, dialog, runId) = await OpenOnOwnFailuresAsync();
        provider.WaitForAssertion(() => Assert.False(ConfirmDisabled(provider)), RenderWait);

        await StableClick.ClickAsync(provider, ".brun-rerun-confirm");

        var result = await dialog.Result;
        var newRun = Assert.IsType<Guid>(result?.Data);
        await using var c = await Db.DataSource.OpenConnectionAsync();
        Assert.Equal(runId, await c.ExecuteScalarAsync<Guid?>("SELECT source_run_id FROM generation_runs WHERE id = @newRun", new { newRun }));
    }
}
