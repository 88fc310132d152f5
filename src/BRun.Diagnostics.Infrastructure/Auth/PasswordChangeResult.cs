namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>The outcome of <see cref="LocalAccountService.ChangePasswordAsync"/>.</summary>
public enum PasswordChangeResult
{
    Changed,
    WrongCurrentPassword,
    TooShort,
}
