using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Accounts;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Components.Pages.Account;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Accounts;

/// <summary>/account against a real database: own tokens only, a new token shown once, revoke, password change.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class AccountPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private const string Password = "old-password-1";

    private ApiTokenStore Tokens => new(Db.Get<IUserScopedConnectionFactory>(), Db.Time);

    private LocalAccountService Accounts => new(Db.Get<IUserScopedConnectionFactory>());

    private SessionRenewal Renewal { get; } = new(new EphemeralDataProtectionProvider(), TimeProvider.System);

    private async Task<AppUser> SignedInUserAsync()
    {
        var user = await Accounts.CreateAsync($"ana-{Guid.NewGuid():N}@example.test", "Ana", Password, AppUserRoles.Member, CancellationToken.None);
        var currentUser = RegisterSignedInUser(user);
        Services.AddScoped(_ => new AccountPageService(currentUser, Tokens, Accounts, Renewal));
        return user;
    }

    /// <summary>Renders the page and waits until its tokens are read and its first render is done.</summary>
    private IRenderedComponent<AccountPage> RenderLoaded()
    {
        var cut = Render<AccountPage>();
        cut.WaitForElement(".brun-account-page[data-loaded='true'][data-interactive='true']", RenderWait);
        return cut;
    }

    [Fact]
    public async Task The_page_lists_the_users_own_tokens_and_not_another_members()
    {
        var user = await SignedInUserAsync();
        var other = await Db.CreateUserAsync();
        await Tokens.CreateAsync(user.Id, "laptop", CancellationToken.None);
        await Tokens.CreateAsync(other.Id, "someone else's", CancellationToken.None);

        var cut = RenderLoaded();

        cut.WaitForAssertion(() => Assert.Equal(["laptop"], cut.FindAll(".brun-token-row td:first-child").Select(td => td.TextContent.Trim())), RenderWait);
    }

    [Fact]
    public async Task A_created_token_is_shown_once_and_authenticates()
    {
        var user = await SignedInUserAsync();
        var cut = RenderLoaded();

        cut.Find(".brun-token-name input").Change("ci");
        await StableClick.ClickAsync(cut, ".brun-create-token");

        var secret = cut.WaitForElement(".brun-new-token-secret", RenderWait).TextContent.Trim();
        Assert.Equal(user.Id, (await Tokens.AuthenticateAsync(secret, CancellationToken.None))?.Id);
    }

    [Fact]
    public async Task A_token_without_a_name_is_refused_with_a_message()
    {
        await SignedInUserAsync();
        var cut = RenderLoaded();

        await StableClick.ClickAsync(cut, ".brun-create-token");

        cut.WaitForAssertion(() => Assert.Contains("Give the token a name", cut.Find(".brun-token-error").TextContent, StringComparison.Ordinal), RenderWait);
    }

    [Fact]
    public async Task Revoke_stops_the_token_working()
    {
        var user = await SignedInUserAsync();
        var token = await Tokens.CreateAsync(user.Id, "laptop", CancellationToken.None);
        var cut = RenderLoaded();

        cut.WaitForElement(".brun-revoke-token", RenderWait);
        await StableClick.ClickAsync(cut, ".brun-revoke-token");

        cut.WaitForAssertion(() => Assert.StartsWith("revoked", cut.Find(".brun-token-status").TextContent.Trim(), StringComparison.Ordinal), RenderWait);
        Assert.Null(await Tokens.AuthenticateAsync(token.Token, CancellationToken.None));
    }

    [Fact]
    public async Task A_wrong_current_password_changes_nothing()
    {
        var user = await SignedInUserAsync();
        var cut = RenderLoaded();

        cut.Find(".brun-current-password input").Change("not-my-password");
        cut.Find(".brun-new-password input").Change("new-password-1");
        cut.Find(".brun-confirm-password input").Change("new-password-1");
        await StableClick.ClickAsync(cut, ".brun-change-password");

        cut.WaitForAssertion(() => Assert.Contains("current password is not right", cut.Find(".brun-password-message").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.DoesNotContain(SessionRenewal.Path, Services.GetRequiredService<NavigationManager>().Uri, StringComparison.Ordinal);
        Assert.NotNull(await Accounts.VerifyPasswordAsync(user.Email, Password, CancellationToken.None));
    }

    [Fact]
    public async Task The_right_current_password_changes_it()
    {
        var user = await SignedInUserAsync();
        var cut = RenderLoaded();

        cut.Find(".brun-current-password input").Change(Password);
        cut.Find(".brun-new-password input").Change("new-password-1");
        cut.Find(".brun-confirm-password input").Change("new-password-1");
        await StableClick.ClickAsync(cut, ".brun-change-password");

        cut.WaitForAssertion(() => Assert.Equal(AccountPage.PasswordChangedMessage, cut.Find(".brun-password-message").TextContent.Trim()), RenderWait);
        Assert.NotNull(await Accounts.VerifyPasswordAsync(user.Email, "new-password-1", CancellationToken.None));
        // The page then reloads through the renewal URL, whose ticket names this user and the new stamp.
        var navigated = new Uri(Services.GetRequiredService<NavigationManager>().Uri);
        Assert.Equal(SessionRenewal.Path, navigated.AbsolutePath);
        var ticket = Uri.UnescapeDataString(navigated.Query[(SessionRenewal.TicketKey.Length + 2)..]);
        var stamp = (await new AppUserStore(Db.Get<IUserScopedConnectionFactory>()).GetActiveAsync(user.Id, CancellationToken.None))!.SessionStamp;
        Assert.Equal((user.Id, stamp), Renewal.Read(ticket));
        Assert.NotEqual(user.SessionStamp, stamp);
    }

    [Fact]
    public async Task Changing_the_password_with_the_box_ticked_revokes_the_users_tokens()
    {
        var user = await SignedInUserAsync();
        var token = await Tokens.CreateAsync(user.Id, "ci", CancellationToken.None);
        var cut = RenderLoaded();

        cut.Find(".brun-current-password input").Change(Password);
        cut.Find(".brun-new-password input").Change("new-password-1");
        cut.Find(".brun-confirm-password input").Change("new-password-1");
        cut.Find(".brun-revoke-tokens input").Change(true);
        await StableClick.ClickAsync(cut, ".brun-change-password");

        cut.WaitForAssertion(() => Assert.Equal(AccountPage.PasswordChangedMessage, cut.Find(".brun-password-message").TextContent.Trim()), RenderWait);
        Assert.Null(await Tokens.AuthenticateAsync(token.Token, CancellationToken.None));
    }
}
