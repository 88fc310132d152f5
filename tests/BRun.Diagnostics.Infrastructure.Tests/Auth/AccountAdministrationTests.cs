using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;

namespace BRun.Diagnostics.Infrastructure.Tests.Auth;

/// <summary>Accounts (migration 0076): own tokens under RLS, disabling, roles, the last-admin rule, password changes.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class AccountAdministrationTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static ApiTokenStore Tokens(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>(), db.Time);

    private static LocalAccountService Accounts(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>());

    private static UserAdministration Admin(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>(), Accounts(db), db.Time);

    private static async Task<AppUser> UserWithPasswordAsync(TestDatabase db, string role = AppUserRoles.Member) =>
        await Accounts(db).CreateAsync($"{role}-{Guid.NewGuid():N}@example.test", role, "old-password-1", role, None);

    [Fact]
    public async Task A_member_lists_only_their_own_tokens()
    {
        await using var db = await env.CreateDatabaseAsync();
        var ana = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        await Tokens(db).CreateAsync(ana.Id, "ana's", None);
        await Tokens(db).CreateAsync(bob.Id, "bob's", None);

        var listed = await Tokens(db).ListAsync(DbIdentity.User(ana.Id), None);

        Assert.Equal(["ana's"], listed.Select(t => t.Name));
    }

    [Fact]
    public async Task An_admin_too_lists_only_their_own_tokens()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var bob = await db.CreateUserAsync();
        await Tokens(db).CreateAsync(bob.Id, "bob's", None);

        Assert.Empty(await Tokens(db).ListAsync(DbIdentity.User(admin.Id), None));
    }

    [Fact]
    public async Task A_member_cannot_revoke_another_members_token()
    {
        await using var db = await env.CreateDatabaseAsync();
        var ana = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var bobs = await Tokens(db).CreateAsync(bob.Id, "bob's", None);

        Assert.False(await Tokens(db).RevokeAsync(DbIdentity.User(ana.Id), bobs.Id, None));
        Assert.NotNull(await Tokens(db).AuthenticateAsync(bobs.Token, None));
    }

    [Fact]
    public async Task A_disabled_users_token_no_longer_authenticates()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var bob = await db.CreateUserAsync();
        var token = await Tokens(db).CreateAsync(bob.Id, "script", None);

        Assert.Equal(UserChangeOutcome.Done, await Admin(db).SetDisabledAsync(admin.Id, bob.Id, disabled: true, None));

        Assert.Null(await Tokens(db).AuthenticateAsync(token.Token, None));
    }

    [Fact]
    public async Task A_disabled_user_is_refused_at_sign_in_and_enabled_again_signs_in()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var bob = await UserWithPasswordAsync(db);
        await Admin(db).SetDisabledAsync(admin.Id, bob.Id, disabled: true, None);

        Assert.Null(await Accounts(db).VerifyPasswordAsync(bob.Email, "old-password-1", None));
        Assert.Null(await db.Get<AppUserStore>().GetActiveAsync(bob.Id, None));

        await Admin(db).SetDisabledAsync(admin.Id, bob.Id, disabled: false, None);
        Assert.NotNull(await Accounts(db).VerifyPasswordAsync(bob.Email, "old-password-1", None));
    }

    [Fact]
    public async Task The_last_admin_cannot_demote_themself()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);

        Assert.Equal(UserChangeOutcome.LastAdmin, await Admin(db).SetRoleAsync(admin.Id, admin.Id, AppUserRoles.Member, None));
        Assert.Equal(AppUserRoles.Admin, (await db.Get<AppUserStore>().GetAsync(admin.Id, None))?.Role);
    }

    [Fact]
    public async Task The_last_admin_cannot_disable_themself()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);

        Assert.Equal(UserChangeOutcome.LastAdmin, await Admin(db).SetDisabledAsync(admin.Id, admin.Id, disabled: true, None));
        Assert.NotNull(await db.Get<AppUserStore>().GetActiveAsync(admin.Id, None));
    }

    [Fact]
    public async Task Two_admins_demoting_each_other_at_once_leave_one_admin()
    {
        await using var db = await env.CreateDatabaseAsync();
        var a = await db.CreateUserAsync(AppUserRoles.Admin);
        var b = await db.CreateUserAsync(AppUserRoles.Admin);

        var outcomes = await Task.WhenAll(
            Admin(db).SetRoleAsync(a.Id, b.Id, AppUserRoles.Member, None),
            Admin(db).SetRoleAsync(b.Id, a.Id, AppUserRoles.Member, None));

        Assert.Single(outcomes, o => o == UserChangeOutcome.Done);
        Assert.Equal(1, (await Admin(db).ListAsync(outcomes[0] == UserChangeOutcome.Done ? a.Id : b.Id, None))!.Count(u => u.IsAdmin));
    }

    [Fact]
    public async Task A_member_cannot_change_roles_or_list_users()
    {
        await using var db = await env.CreateDatabaseAsync();
        var member = await db.CreateUserAsync();

        Assert.Equal(UserChangeOutcome.NotAdmin, await Admin(db).SetRoleAsync(member.Id, member.Id, AppUserRoles.Admin, None));
        Assert.Null(await Admin(db).ListAsync(member.Id, None));
    }

    [Fact]
    public async Task A_disabled_admin_loses_admin_rights_in_the_database()
    {
        await using var db = await env.CreateDatabaseAsync();
        var a = await db.CreateUserAsync(AppUserRoles.Admin);
        var b = await db.CreateUserAsync(AppUserRoles.Admin);
        await Admin(db).SetDisabledAsync(a.Id, b.Id, disabled: true, None);

        Assert.Equal(UserChangeOutcome.NotAdmin, await Admin(db).SetDisabledAsync(b.Id, a.Id, disabled: true, None));
    }

    [Fact]
    public async Task An_admin_creates_a_user_who_signs_in_and_a_taken_email_is_refused()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);

        Assert.Equal(UserChangeOutcome.Done, await Admin(db).CreateAsync(admin.Id, "New@Example.test", "New", "new-password-1", AppUserRoles.Member, None));
        Assert.Equal(UserChangeOutcome.EmailTaken, await Admin(db).CreateAsync(admin.Id, "new@example.test", "Again", "new-password-1", AppUserRoles.Member, None));
        Assert.NotNull(await Accounts(db).VerifyPasswordAsync("new@example.test", "new-password-1", None));
    }

    [Fact]
    public async Task A_display_name_with_a_control_character_is_refused_as_invalid()
    {
        await using var db = await env.CreateDatabaseAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);

        // A NUL cannot be stored (it failed the insert), and a line break has no place in a name shown on one line.
        Assert.Equal(
            (UserChangeOutcome.Invalid, UserChangeOutcome.Invalid, UserChangeOutcome.Done),
            (await Admin(db).CreateAsync(admin.Id, "nul@example.test", "Nul\0Name", "new-password-1", AppUserRoles.Member, None),
                await Admin(db).CreateAsync(admin.Id, "break@example.test", "Line\nBreak", "new-password-1", AppUserRoles.Member, None),
                await Admin(db).CreateAsync(admin.Id, "plain@example.test", "Plain Name", "new-password-1", AppUserRoles.Member, None)));
        Assert.Null(await Accounts(db).VerifyPasswordAsync("nul@example.test", "new-password-1", None));
    }

    [Fact]
    public async Task Changing_a_password_needs_the_current_one()
    {
        await using var db = await env.CreateDatabaseAsync();
        var user = await UserWithPasswordAsync(db);

        Assert.Equal(PasswordChangeResult.WrongCurrentPassword, await Accounts(db).ChangePasswordAsync(user.Id, "not-it-at-all", "new-password-1", None));
        Assert.Equal(PasswordChangeResult.TooShort, await Accounts(db).ChangePasswordAsync(user.Id, "old-password-1", "short", None));
        // Refused changes keep the sessions: the stamp is the one the user was created with.
        Assert.Equal(user.SessionStamp, (await db.Get<AppUserStore>().GetAsync(user.Id, None))!.SessionStamp);
        var (result, stamp, revoked) = await Accounts(db).ChangePasswordReturningStampAsync(user.Id, "old-password-1", "new-password-1", revokeApiTokens: false, None);
        Assert.Equal(PasswordChangeResult.Changed, result);
        Assert.NotNull(await Accounts(db).VerifyPasswordAsync(user.Email, "new-password-1", None));
        Assert.Null(await Accounts(db).VerifyPasswordAsync(user.Email, "old-password-1", None));
        // The change drew a new stamp (which signs out older cookies), returned to the session that made it; signing in does not draw one.
        Assert.NotEqual(user.SessionStamp, stamp);
        Assert.Equal(stamp, (await db.Get<AppUserStore>().GetAsync(user.Id, None))!.SessionStamp);
    }

    [Fact]
    public async Task A_password_change_can_revoke_the_users_api_tokens_and_only_theirs()
    {
        await using var db = await env.CreateDatabaseAsync();
        var ana = await UserWithPasswordAsync(db);
        var bob = await UserWithPasswordAsync(db);
        var anas = await Tokens(db).CreateAsync(ana.Id, "ci", None);
        await Tokens(db).CreateAsync(ana.Id, "laptop", None);
        var bobs = await Tokens(db).CreateAsync(bob.Id, "bob's", None);

        // A refused change revokes nothing; a change without the choice keeps the tokens; with it, all of the user's go.
        var refused = await Accounts(db).ChangePasswordReturningStampAsync(ana.Id, "not-it-at-all", "new-password-1", revokeApiTokens: true, None);
        var kept = await Accounts(db).ChangePasswordReturningStampAsync(ana.Id, "old-password-1", "new-password-1", revokeApiTokens: false, None);
        var stillWorks = await Tokens(db).AuthenticateAsync(anas.Token, None);
        var revoked = await Accounts(db).ChangePasswordReturningStampAsync(ana.Id, "new-password-1", "new-password-2", revokeApiTokens: true, None);

        Assert.Equal(
            ((PasswordChangeResult.WrongCurrentPassword, 0), (PasswordChangeResult.Changed, 0), true, (PasswordChangeResult.Changed, 2)),
            ((refused.Result, refused.RevokedTokens), (kept.Result, kept.RevokedTokens), stillWorks is not null, (revoked.Result, revoked.RevokedTokens)));
        Assert.Equal((false, true), (await Tokens(db).AuthenticateAsync(anas.Token, None) is not null, await Tokens(db).AuthenticateAsync(bobs.Token, None) is not null));
        Assert.All(await Tokens(db).ListAsync(DbIdentity.User(ana.Id), None), t => Assert.True(t.Revoked));
    }
}
