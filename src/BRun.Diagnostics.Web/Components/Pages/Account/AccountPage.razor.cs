using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Web.Accounts;
using BRun.Diagnostics.Web.Components.Runs;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.Account;

/// <summary>The signed-in user's own account: API tokens (list, create once-shown, revoke) and a password change.</summary>
public sealed partial class AccountPage : ComponentBase
{
    internal const string PasswordChangedMessage = "Password changed. Your other sessions are signed out.";

    private IReadOnlyList<ApiTokenInfo> _tokens = [];
    private CreatedApiToken? _newToken;
    private string? _tokenName;
    private string? _tokenError;
    private string? _currentPassword;
    private string? _newPassword;
    private string? _confirmPassword;
    private bool _revokeTokens;
    private string? _passwordMessage;
    private bool _passwordChanged;
    private bool _interactive;
    private bool _loaded;

    [Inject]
    private AccountPageService Account { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    /// <summary>"changed" after a password change, when the renewed session lands here (the message survives the reload).</summary>
    [SupplyParameterFromQuery(Name = "password")]
    public string? PasswordState { get; set; }

    protected override async Task OnInitializedAsync()
    {
        if (PasswordState == "changed")
        {
            (_passwordChanged, _passwordMessage) = (true, PasswordChangedMessage);
        }

        _tokens = await Account.ListTokensAsync(CancellationToken.None);
        _loaded = true;
    }


    protected override void OnAfterRender(bool firstRender)
    {
        // Runs only in an interactive circuit, never during prerendering.
        if (firstRender)
        {
            _interactive = true;
            StateHasChanged();
        }
    }

    internal static string When(DateTime? utc) =>
        utc is { } value ? RunFormat.Time(new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc))) : "never";

    private async Task CreateTokenAsync()
    {
        (_newToken, _tokenError) = await Account.CreateTokenAsync(_tokenName, CancellationToken.None);
        if (_newToken is not null)
        {
            _tokenName = null;
            _tokens = await Account.ListTokensAsync(CancellationToken.None);
        }
    }

    private async Task RevokeAsync(ApiTokenInfo token)
    {
        _tokenError = await Account.RevokeTokenAsync(token.Id, CancellationToken.None) ? null : $"Token {token.Name} was already revoked.";
        _newToken = null;
        _tokens = await Account.ListTokensAsync(CancellationToken.None);
    }

    private async Task ChangePasswordAsync()
    {
        var (error, renewalUrl) = await Account.ChangePasswordAsync(_currentPassword, _newPassword, _confirmPassword, _revokeTokens, CancellationToken.None);
        _passwordChanged = error is null;
        _passwordMessage = error ?? PasswordChangedMessage;
        (_currentPassword, _newPassword, _confirmPassword) = (null, null, null);
        if (renewalUrl is not null)
        {
            // The change made this session's cookie stale too: a full load of the renewal URL issues a fresh one.
            Navigation.NavigateTo(renewalUrl, forceLoad: true);
        }
    }
}
