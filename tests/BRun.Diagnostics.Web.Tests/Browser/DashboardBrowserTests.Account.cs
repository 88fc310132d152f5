using BRun.Diagnostics.Infrastructure.Auth;
using Microsoft.Extensions.DependencyInjection;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>/account in the browser: a token created, shown once and revoked; the password changed, which signs out the user's other sessions.</summary>
public sealed partial class DashboardBrowserTests
{
    private const string AccountReady = ".brun-account-page[data-interactive='true']";

    [Fact]
    public async Task Account_page_creates_and_revokes_a_token_and_changes_the_password()
    {
        var user = await Host.CreateUserAsync();
        var page = await SignInAsync(user, "/account", interactive: AccountReady);
        // The same user in another browser (its own cookies): the password change must sign this one out.
        var other = await SignInAsync(user, "/account", interactive: AccountReady);

        await page.Locator(".brun-token-name input").FillAsync("browser");
        await page.Locator(".brun-token-name input").PressAsync("Tab");
        await page.Locator("button.brun-create-token").ClickAsync();
        var secret = (await page.Locator(".brun-new-token-secret").TextContentAsync())?.Trim() ?? string.Empty;
        var tokens = Host.Services.GetRequiredService<ApiTokenStore>();
        Assert.Equal(user.Id, (await tokens.AuthenticateAsync(secret, CancellationToken.None))?.Id);

        await page.Locator("button.brun-revoke-token").ClickAsync();
        await Assertions.Expect(page.Locator(".brun-token-status")).ToContainTextAsync("revoked");
        Assert.Null(await tokens.AuthenticateAsync(secret, CancellationToken.None));

        await page.Locator(".brun-current-password input").FillAsync(BrowserHost.Password);
        await page.Locator(".brun-new-password input").FillAsync("a brand new password");
        await page.Locator(".brun-confirm-password input").FillAsync("a brand new password");
        await page.Locator(".brun-confirm-password input").PressAsync("Tab");
        await page.Locator("button.brun-change-password").ClickAsync();
        // The page reloads through the renewal endpoint, which gives this session a cookie with the new stamp.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/account\\?password=changed$"));
        await Assertions.Expect(page.Locator(".brun-password-message")).ToHaveTextAsync(Components.Pages.Account.AccountPage.PasswordChangedMessage);
        Assert.NotNull(await Host.Services.GetRequiredService<LocalAccountService>().VerifyPasswordAsync(user.Email, "a brand new password", CancellationToken.None));

        await other.GotoAsync("/runs", new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(other).ToHaveURLAsync(new Regex("/account/login"));
        await page.GotoAsync("/runs", new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/runs$"));
    }
}
