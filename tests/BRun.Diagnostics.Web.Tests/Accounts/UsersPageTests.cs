using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Accounts;
using BRun.Diagnostics.Web.Components.Pages.Admin;
using Bunit;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Accounts;

/// <summary>/admin/users against a real database: create, disable, and the last-admin rule shown as a message.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class UsersPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private UserAdministration Administration =>
        new(Db.Get<IUserScopedConnectionFactory>(), new LocalAccountService(Db.Get<IUserScopedConnectionFactory>()), Db.Time);

    private void SignInAs(AppUser user)
    {
        var currentUser = RegisterSignedInUser(user);
        Services.AddScoped(_ => new UserAdminPageService(currentUser, Administration));
    }

    private static IRenderedComponent<UsersPage> RowsOf(IRenderedComponent<UsersPage> cut, int count)
    {
        cut.WaitForAssertion(() => Assert.Equal(count, cut.FindAll(".brun-user-row").Count), RenderWait);
        return cut;
    }

    [Fact]
    public async Task Disable_marks_the_user_disabled_and_they_can_no_longer_sign_in_by_token()
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        var member = await Db.CreateUserAsync();
        var token = await new ApiTokenStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).CreateAsync(member.Id, "script", CancellationToken.None);
        SignInAs(admin);
        var cut = RowsOf(Render<UsersPage>(), 2);

        // Admins are listed first, so the member is the second row.
        await StableClick.ClickAsync(() => cut.FindAll(".brun-user-row")[1].QuerySelector(".brun-toggle-disabled")!);

        cut.WaitForAssertion(() => Assert.StartsWith("disabled", cut.FindAll(".brun-user-status")[1].TextContent.Trim(), StringComparison.Ordinal), RenderWait);
        Assert.Null(await new ApiTokenStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).AuthenticateAsync(token.Token, CancellationToken.None));
    }

    [Fact]
    public async Task The_last_admin_demoting_themself_is_refused_with_a_message()
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        SignInAs(admin);
        var cut = RowsOf(Render<UsersPage>(), 1);

        await StableClick.ClickAsync(cut, ".brun-toggle-role");

        cut.WaitForAssertion(() => Assert.Contains("leave no enabled admin", cut.Find(".brun-users-message").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.Equal(AppUserRoles.Admin, cut.Find(".brun-user-role").TextContent.Trim());
    }

    [Fact]
    public async Task An_admin_creates_a_user_from_the_form()
    {
        var admin = await Db.CreateUserAsync(AppUserRoles.Admin);
        SignInAs(admin);
        var cut = RowsOf(Render<UsersPage>(), 1);

        cut.Find(".brun-new-user-email input").Change("New.Person@Example.test");
        cut.Find(".brun-new-user-password input").Change("new-password-1");
        await StableClick.ClickAsync(cut, ".brun-create-user");

        RowsOf(cut, 2);
        Assert.Contains("new.person@example.test", cut.FindAll(".brun-user-email").Select(e => e.TextContent.Trim()));
    }

    [Fact]
    public async Task A_member_who_reaches_the_page_sees_no_users()
    {
        var member = await Db.CreateUserAsync();
        SignInAs(member);

        var cut = Render<UsersPage>();

        cut.WaitForElement(".brun-users-refused", RenderWait);
        Assert.Empty(cut.FindAll(".brun-user-row"));
    }
}
