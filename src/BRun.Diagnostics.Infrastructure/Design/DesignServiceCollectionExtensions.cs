using BRun.Diagnostics.Core.Pricing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BRun.Diagnostics.Infrastructure.Design;

public static class DesignServiceCollectionExtensions
{
    /// <summary>Registers the design store and its read side; they need only the database.</summary>
    public static IServiceCollection AddGenerationDesign(this IServiceCollection services)
    {
        services.TryAddSingleton<DesignStore>();
        services.TryAddSingleton<GenerationDesignReader>();
        return services;
    }

    /// <summary>
    /// Registers <see cref="PromptPreviewService"/>, which needs <c>AddClaudeMessagesClient</c> (for count_tokens).
    /// The default <see cref="PriceTable"/> is added only when none is registered yet.
    /// </summary>
    public static IServiceCollection AddPromptPreview(this IServiceCollection services)
    {
        services.AddGenerationDesign();
        services.TryAddSingleton(_ => PriceTable.CreateDefault());
        services.TryAddSingleton<PromptPreviewService>();
        return services;
    }
}
