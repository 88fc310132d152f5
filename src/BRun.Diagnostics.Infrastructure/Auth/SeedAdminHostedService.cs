using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>
/// On start, creates the configured admin when the database has no user yet, so a newcomer can sign in after
/// <c>./brun.sh run</c>. Registered after the migration hosted service, so the schema exists.
/// </summary>
internal sealed partial class SeedAdminHostedService(
    LocalAccountService accounts,
    IOptions<AuthOptions> options,
    IConfiguration configuration,
    ILogger<SeedAdminHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var demo = configuration.GetValue<bool>("Demo:Enabled");
        var password = o.SeedAdminPassword ?? (demo ? AuthOptions.DemoAdminPassword : null);
        if (password == string.Empty)
        {
            return;
        }

        if (!demo && password == AuthOptions.DemoAdminPassword)
        {
            Log.DemoPasswordRefused(logger, o.SeedAdminEmail);
            return;
        }

        if (password is null)
        {
            if (!await accounts.AnyUserAsync(cancellationToken).ConfigureAwait(false))
            {
                Log.NoFirstAdmin(logger);
            }

            return;
        }

        var created = await accounts.CreateFirstAdminAsync(o.SeedAdminEmail, o.SeedAdminName, password, cancellationToken).ConfigureAwait(false);
        if (created is not null)
        {
            Log.SeededAdmin(logger, created.Email, password == AuthOptions.DemoAdminPassword
                ? $"the demo password '{AuthOptions.DemoAdminPassword}' (demo mode)"
                : "the password from Auth:SeedAdminPassword");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "No user existed: created admin {Email}; sign in with {PasswordSource} and change it outside a demo")]
        public static partial void SeededAdmin(ILogger logger, string email, string passwordSource);

        [LoggerMessage(EventId = 7402, Level = LogLevel.Error, Message = "Not creating {Email} with the published demo password outside demo mode; set Auth__SeedAdminPassword to a password of your own, or create the first admin with `brun user create --admin`")]
        public static partial void DemoPasswordRefused(ILogger logger, string email);

        [LoggerMessage(EventId = 7403, Level = LogLevel.Warning, Message = "No user exists yet. Create the first admin with `brun user create --email E --admin --password-stdin`, or start once with Auth__SeedAdminPassword set")]
        public static partial void NoFirstAdmin(ILogger logger);
    }
}
