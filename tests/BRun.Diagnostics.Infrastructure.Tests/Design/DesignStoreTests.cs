using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Design;

[Collection(IntegrationEnvironment.Collection)]
public sealed class DesignStoreTests(IntegrationEnvironment environment)
{
    private const string Body = "Persona: {{persona}} ({{persona_description}})\nArc: {{emotional_arc}}\nTopic: {{training_topic}}\nVariation {{variation}}";
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Create_refuses_an_unknown_placeholder_and_stores_nothing()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var store = Services(db).GetRequiredService<DesignStore>();

        var error = await Assert.ThrowsAsync<TemplatePlaceholderException>(() =>
            store.CreateTemplateAsync(DbIdentity.User(member.Id), "typo", "Hello {{persona}} {{persona_mood}}", shared: false, None));

        Assert.Equal("persona_mood", error.Placeholder);
        Assert.Null(await store.FindTemplateAsync(DbIdentity.User(member.Id), "typo", includeArchived: true, None));
    }

    [Fact]
    public async Task Update_refuses_an_unknown_placeholder_and_keeps_the_current_version()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var store = Services(db).GetRequiredService<DesignStore>();
        await store.CreateTemplateAsync(DbIdentity.User(member.Id), "mine", Body, shared: false, None);

        await Assert.ThrowsAsync<TemplatePlaceholderException>(() =>
            store.UpdateTemplateAsync(DbIdentity.User(member.Id), "mine", Body + "\n{{tone}}", None));

        var template = await store.FindTemplateAsync(DbIdentity.User(member.Id), "mine", includeArchived: true, None);
        Assert.Equal(1, template!.CurrentVersion);
    }

    [Fact]
    public async Task Every_changed_save_is_a_new_version_and_old_bodies_stay()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var identity = DbIdentity.User(member.Id);
        var store = Services(db).GetRequiredService<DesignStore>();
        var created = await store.CreateTemplateAsync(identity, "mine", Body, shared: false, None);

        await store.UpdateTemplateAsync(identity, "mine", Body + "\nBe brief.", None);
        await store.UpdateTemplateAsync(identity, "mine", Body + "\nBe brief.", None);

        var versions = await store.ListVersionsAsync(identity, created.Id, None);
        Assert.Equal([2, 1], versions.Select(v => v.Version));
        Assert.Equal(Body, versions[1].Body);
    }

    [Fact]
    public async Task Versions_cannot_be_changed_even_by_the_database_owner()
    {
        await using var db = await environment.CreateDatabaseAsync();
        await using var connection = await db.DataSource.OpenConnectionAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            connection.ExecuteAsync("UPDATE prompt_template_versions SET body = 'changed'"));

        Assert.Contains("immutable", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_cannot_see_another_members_private_template()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var store = Services(db).GetRequiredService<DesignStore>();
        await store.CreateTemplateAsync(DbIdentity.User(alice.Id), "alice-private", Body, shared: false, None);

        var bobSees = await store.ListTemplatesAsync(DbIdentity.User(bob.Id), includeArchived: true, None);

        Assert.DoesNotContain(bobSees, t => t.Name == "alice-private");
        Assert.Null(await store.FindTemplateAsync(DbIdentity.User(bob.Id), "alice-private", includeArchived: true, None));
    }

    [Fact]
    public async Task A_member_cannot_create_a_run_from_another_members_private_template()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var services = Services(db);
        await services.GetRequiredService<DesignStore>().CreateTemplateAsync(DbIdentity.User(alice.Id), "alice-private", Body, shared: false, None);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => services.GetRequiredService<RunStore>()
            .CreateAsync(bob.Id, new CreateRunRequest(2, "alice-private", "m", 1024, null), None));

        Assert.Contains("alice-private", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_cannot_change_a_built_in_template()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var store = Services(db).GetRequiredService<DesignStore>();

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() =>
            store.UpdateTemplateAsync(DbIdentity.User(member.Id), "default", Body, None));
    }

    [Fact]
    public async Task Only_an_admin_can_share_and_then_everyone_sees_it()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var store = Services(db).GetRequiredService<DesignStore>();
        await store.CreateTemplateAsync(DbIdentity.User(alice.Id), "team", Body, shared: false, None);

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => store.SetTemplateSharedAsync(DbIdentity.User(alice.Id), "team", true, None));
        await store.SetTemplateSharedAsync(DbIdentity.User(admin.Id), "team", true, None);

        var seen = await store.FindTemplateAsync(DbIdentity.User(bob.Id), "team", includeArchived: false, None);
        Assert.Equal(DesignVisibility.Shared, seen!.Visibility);
    }

    [Fact]
    public async Task Own_item_shadows_a_built_in_one_with_the_same_key()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var store = Services(db).GetRequiredService<DesignStore>();
        await store.AddScaffoldingAsync(DbIdentity.User(member.Id), ScaffoldingKind.Persona, "gig_worker", "My gig worker", "Drives at night.", shared: false, None);

        var found = await store.FindScaffoldingAsync(DbIdentity.User(member.Id), ScaffoldingKind.Persona, "gig_worker", None);

        Assert.Equal("My gig worker", found!.Name);
    }

    [Fact]
    public async Task An_archived_template_cannot_start_a_run()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();
        var services = Services(db);
        var store = services.GetRequiredService<DesignStore>();
        await store.CreateTemplateAsync(DbIdentity.User(member.Id), "old", Body, shared: false, None);
        await store.SetTemplateArchivedAsync(DbIdentity.User(member.Id), "old", archived: true, None);

        await Assert.ThrowsAsync<ArgumentException>(() => services.GetRequiredService<RunStore>()
            .CreateAsync(member.Id, new CreateRunRequest(1, "old", "m", 1024, null), None));
    }

    internal static IServiceProvider Services(TestDatabase db) =>
        db.BuildServices(
            s => s["Worker:Enabled"] = "false",
            services => services.AddClaudeMessagesClient().AddGenerationPipeline(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Worker:Enabled"] = "false" }).Build()));
}
