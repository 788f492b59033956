using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary><c>GET /api/v1/scopes</c> tells an admin what each scope allows before they grant it.</summary>
public sealed class ScopeCatalogTests
{
    [Fact]
    public void EveryScope_SaysWhatItAllows_InItsOwnWords()
    {
        Assert.All(Scopes.Catalog, scope => Assert.True(scope.Value.Length >= 10, $"{scope.Key} has no description"));
        Assert.Equal(Scopes.Catalog.Count, Scopes.Catalog.Values.Distinct(StringComparer.Ordinal).Count());
    }
}
