using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Web.Tests.Browser;

/// <summary>
/// The real web host on Kestrel (a real port, so Chromium can reach it), on a test database of its own, with the
/// run-event listener on: live updates travel through Postgres NOTIFY as in production.
/// </summary>
internal sealed class BrowserHost : WebApplicationFactory<Program>
{
    public const string Password = "correct horse battery";

    private readonly TestDatabase _db;
    private readonly IReadOnlyDictionary<string, string?> _extraSettings;

    private BrowserHost(TestDatabase db, IReadOnlyDictionary<string, string?>? extraSettings)
    {
        _db = db;
        _extraSettings = extraSettings ?? new Dictionary<string, string?>();
    }

    public TestDatabase Db => _db;

    /// <summary>Warnings and errors the host logged, as "category: message".</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Warnings { get; } = new();

    public Uri BaseAddress { get; private set; } = default!;

    public static async Task<BrowserHost> StartAsync(IntegrationEnvironment env, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = new BrowserHost(await env.CreateDatabaseAsync(), settings);
        host.UseKestrel(0);
        host.StartServer();
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal), UriKind.Absolute);
        return host;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _db.Settings())
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("Auth:SeedAdminPassword", string.Empty);
        builder.ConfigureLogging(logging => logging.AddProvider(new WarningCapture(Warnings)));
        builder.UseSetting("urls", "http://127.0.0.1:0");
        foreach (var (key, value) in _extraSettings)
        {
            builder.UseSetting(key, value);
        }
    }

    public async Task<AppUser> CreateUserAsync(string role = AppUserRoles.Member)
    {
        var accounts = Services.GetRequiredService<LocalAccountService>();
        return await accounts.CreateAsync($"{role}-{Guid.NewGuid():N}@example.test", role, Password, role, CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _db.DisposeAsync();
    }

    private sealed class WarningCapture(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    lines.Enqueue($"{category}: {formatter(state, exception)}");
                }
            }
        }
    }
}
