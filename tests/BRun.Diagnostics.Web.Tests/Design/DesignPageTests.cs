using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Design;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Runs;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace BRun.Diagnostics.Web.Tests.Design;

[Collection(IntegrationEnvironment.Collection)]
public sealed class DesignPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private const string Body = "Persona: {{persona}}\nVariation {{variation}}";

    private void SignInAs(AppUser user)
    {
        RegisterSignedInUser(user);
        Services.AddSingleton(Db.Get<FailedGenerationReader>());
        Services.AddSingleton(new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time));
        Services.AddSingleton<RunProgressReader>();
        Services.AddSingleton(new BRun.Diagnostics.Infrastructure.RateLimits.RateLimitStore(Db.Get<IUserScopedConnectionFactory>()));
        Services.AddScoped<RunDashboardService>();
        Services.AddSingleton(new BRun.Diagnostics.Infrastructure.Alerts.RunAlertStore(Db.Get<IUserScopedConnectionFactory>()));
        Services.AddScoped<RunAlertService>();

        // As in a circuit (after the services: setting it starts the renderer).
        SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true));
    }

    [Fact]
    public async Task The_design_page_lists_own_and_built_in_templates_but_not_another_members()
    {
        var me = await Db.CreateUserAsync();
        var other = await Db.CreateUserAsync();
        var store = new DesignStore(Db.Get<IUserScopedConnectionFactory>());
        await store.CreateTemplateAsync(DbIdentity.User(me.Id), "mine", Body, shared: false, CancellationToken.None);
        await store.CreateTemplateAsync(DbIdentity.User(other.Id), "theirs", Body, shared: false, CancellationToken.None);
        SignInAs(me);

        var cut = Render<DesignPage>();

        cut.WaitForAssertion(() =>
        {
            var names = cut.FindAll("tr.brun-template-row td:first-child").Select(td => td.TextContent.Trim()).ToList();
            Assert.Equal(["default", "mine"], names);
        }, RenderWait);
    }

    [Fact]
    public async Task The_template_editor_refuses_an_unknown_placeholder_and_names_it()
    {
        var me = await Db.CreateUserAsync();
        SignInAs(me);
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<TemplateEditorDialog>("New template"));

        provider.Find(".brun-template-name input").Change("typo");
        provider.Find(".brun-template-body textarea").Change("Hello {{persona}} {{mood}}");
        await StableClick.ClickAsync(provider, "button.brun-template-save");

        provider.WaitForAssertion(() => Assert.Contains("{{mood}}", provider.Find(".brun-template-error").TextContent, StringComparison.Ordinal), RenderWait);
    }

    [Fact]
    public async Task The_run_page_shows_the_version_that_produced_the_run_and_the_diff_to_the_current_one()
    {
        var me = await Db.CreateUserAsync();
        var identity = DbIdentity.User(me.Id);
        var store = new DesignStore(Db.Get<IUserScopedConnectionFactory>());
        await store.CreateTemplateAsync(identity, "evolving", "Line one {{persona}}\nOld line", shared: false, CancellationToken.None);
        var runId = await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time)
            .CreateAsync(me.Id, new CreateRunRequest(2, "evolving", "claude-sonnet-4-5", 1024, null), CancellationToken.None);
        await store.UpdateTemplateAsync(identity, "evolving", "Line one {{persona}}\nNew line", CancellationToken.None);
        SignInAs(me);

        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));
        cut.WaitForAssertion(() => Assert.Contains("version 1", cut.Find(".brun-run-template-version").TextContent, StringComparison.Ordinal), RenderWait);
        await StableClick.ClickAsync(cut, "button.brun-show-diff");

        // MudButton hands the click to the page through an async EventCallback, so the diff may render after Click returns.
        cut.WaitForAssertion(
            () => Assert.Equal(["  Line one {{persona}}", "- Old line", "+ New line"], cut.FindAll(".brun-diff > div").Select(d => d.TextContent).ToList()),
            RenderWait);
    }
}
