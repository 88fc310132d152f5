using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class LocalAccountServiceTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static LocalAccountService Accounts(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>());

    [Fact]
    public async Task Verify_accepts_the_password_case_insensitively_on_email_and_rejects_a_wrong_one()
    {
        await using var db = await env.CreateDatabaseAsync();
        var created = await Accounts(db).CreateAsync("Ana@Example.test", "Ana", "right password", AppUserRoles.Member, None);

        var right = await Accounts(db).VerifyPasswordAsync("ana@EXAMPLE.test", "right password", None);
        var wrong = await Accounts(db).VerifyPasswordAsync("ana@example.test", "wrong password", None);

        Assert.Equal((created.Id, (AppUser?)null), (right?.Id, wrong));
    }

    [Fact]
    public async Task Verify_rejects_an_unknown_email_and_a_user_without_a_password()
    {
        await using var db = await env.CreateDatabaseAsync();
        var external = await Accounts(db).FindOrCreateExternalAsync("sso@example.test", "Sso", emailVerified: true, None);

        Assert.Null(await Accounts(db).VerifyPasswordAsync("nobody@example.test", "anything", None));
        Assert.Null(await Accounts(db).VerifyPasswordAsync(external!.Email, string.Empty, None));
    }

    [Fact]
    public async Task External_sign_in_creates_a_member_once_and_finds_it_afterwards()
    {
        await using var db = await env.CreateDatabaseAsync();

        var first = await Accounts(db).FindOrCreateExternalAsync("New@Example.test", "New Person", emailVerified: true, None);
        var second = await Accounts(db).FindOrCreateExternalAsync("new@example.test", "Renamed", emailVerified: true, None);

        Assert.Equal((first!.Id, AppUserRoles.Member, "new@example.test"), (second!.Id, second.Role, second.Email));
    }

    [Fact]
    public async Task External_sign_in_without_a_verified_email_does_not_take_over_a_local_account()
    {
        await using var db = await env.CreateDatabaseAsync();
        var local = await Accounts(db).CreateAsync("owner@example.test", "Owner", "owner's password", AppUserRoles.Admin, None);

        var unverified = await Accounts(db).FindOrCreateExternalAsync("owner@example.test", "Impostor", emailVerified: false, None);
        var verified = await Accounts(db).FindOrCreateExternalAsync("owner@example.test", "Owner", emailVerified: true, None);

        Assert.Null(unverified);
        Assert.Equal(local.Id, verified?.Id);
    }

    [Fact]
    public async Task First_admin_is_created_only_while_no_user_exists()
    {
        await using var db = await env.CreateDatabaseAsync();

        var seeded = await Accounts(db).CreateFirstAdminAsync("admin@brun.local", "Admin", AuthOptions.DemoAdminPassword, None);
        var again = await Accounts(db).CreateFirstAdminAsync("other@brun.local", "Other", "whatever password", None);

        Assert.Equal((AppUserRoles.Admin, (AppUser?)null), (seeded?.Role, again));
        Assert.NotNull(await Accounts(db).VerifyPasswordAsync("admin@brun.local", AuthOptions.DemoAdminPassword, None));
    }

    [Fact]
    public async Task First_admin_is_not_created_when_a_user_exists()
    {
        await using var db = await env.CreateDatabaseAsync();
        await db.CreateUserAsync();

        Assert.Null(await Accounts(db).CreateFirstAdminAsync("admin@brun.local", "Admin", AuthOptions.DemoAdminPassword, None));
    }
}
