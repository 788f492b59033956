using Tandem.Unify;

namespace Tandem.Trust;

/// <summary>
/// Where a derived value gets its class: the field of a definition that reads the most sensitive data.
/// </summary>
/// <param name="Class">The most sensitive class read; green when nothing personal is read.</param>
/// <param name="Field">The definition's field that reads it (<c>property</c>, <c>where[0].property</c>); null when green.</param>
/// <param name="Path">The event path read there (<c>properties.card_number</c>); null when green.</param>
public sealed record DerivedClass(PiiClass Class, string? Field, string? Path);

/// <summary>
/// Classification follows the data, not the name it travels under (docs/pii.md): a value made from
/// other data takes the class of that data, and the most sensitive wins. A computed trait called
/// <c>lucky_number</c> that keeps the last <c>card_number</c> is red; an identifier type called
/// <c>loyalty_code</c> read from the <c>ssn</c> trait is red; an external id of type <c>email</c> is yellow.
/// </summary>
public static class DerivedClasses
{
    /// <summary>
    /// The class of a computed trait's values: the class of the property it aggregates, unless the
    /// aggregation only counts (count, unique count), and of every property a condition compares a
    /// value with (a count of events whose card number equals a guess tells whether the guess is right).
    /// Conditions that only test presence (exists, not exists) read no value.
    /// </summary>
    public static DerivedClass OfComputedTrait(PiiClassifier classifier, ComputedTraitDefinition definition)
    {
        var result = new DerivedClass(PiiClass.Green, null, null);
        if (definition.Property is { Length: > 0 } property && definition.Aggregation is not (Aggregation.Count or Aggregation.UniqueCount))
        {
            result = Higher(result, classifier, "property", property);
        }

        var where = definition.Where ?? [];
        for (var i = 0; i < where.Count; i++)
        {
            if (where[i].Operator is not (ConditionOperator.Exists or ConditionOperator.NotExists))
            {
                result = Higher(result, classifier, $"where[{i}].property", where[i].Property);
            }
        }

        return result;
    }

    /// <summary>
    /// The class of an identifier type: the most sensitive of its own name and of the trait it is read
    /// from, both ways, so a green name cannot launder an SSN and a green trait key cannot lower a
    /// sensitive name.
    /// </summary>
    public static PiiClass OfIdentifierType(PiiClassifier classifier, string name, string? traitKey)
    {
        var pii = classifier.ClassifyIdentifier(name);
        return traitKey is { Length: > 0 } && classifier.ClassifyTrait(traitKey) is var keyed && keyed > pii ? keyed : pii;
    }

    /// <summary>
    /// The class of <c>context.externalIds[].id</c>: that of an identifier of its sibling
    /// <c>type</c> (a type the workspace does not know is classified by its name, as a new identifier
    /// type would be); yellow when there is no type, since an id that names no kind may be anything.
    /// </summary>
    public static PiiClass OfExternalId(PiiClassifier classifier, string? type) =>
        type is { Length: > 0 } ? classifier.ClassifyIdentifier(type) : PiiClass.Yellow;

    /// <summary>
    /// The classifier the read paths use: <paramref name="classifier"/> with every custom identifier
    /// type raised to its derived class and every computed trait raised to the class of what it reads.
    /// </summary>
    public static PiiClassifier Apply(PiiClassifier classifier, IEnumerable<IdentifierType> types, IEnumerable<ComputedTraitDefinition> traits)
    {
        var identifierFloors = new Dictionary<string, DerivedFloor>(StringComparer.Ordinal);
        var traitFloors = new Dictionary<string, DerivedFloor>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (type.TraitKey is not { } key || OfIdentifierType(classifier, type.Name, key) is not (> PiiClass.Green and var pii))
            {
                continue;
            }

            // Masked as whichever gave the class: an SSN under any name still masks as an SSN.
            var maskAs = classifier.ClassifyTrait(key) >= classifier.ClassifyIdentifier(type.Name) ? key : type.Name;
            identifierFloors[type.Name] = new(pii, maskAs);

            // Both carry the same values: the trait is as sensitive as the identifier it feeds.
            Raise(traitFloors, key.Split('.')[0], new(pii, maskAs));
        }

        foreach (var trait in traits)
        {
            if (OfComputedTrait(classifier, trait) is { Class: > PiiClass.Green } derived)
            {
                Raise(traitFloors, trait.Name, new(derived.Class, derived.Path!));
            }
        }

        return identifierFloors.Count == 0 && traitFloors.Count == 0 ? classifier : classifier.WithFloors(identifierFloors, traitFloors);
    }

    private static void Raise(Dictionary<string, DerivedFloor> floors, string name, DerivedFloor floor)
    {
        if (!floors.TryGetValue(name, out var held) || floor.Class > held.Class)
        {
            floors[name] = floor;
        }
    }

    private static DerivedClass Higher(DerivedClass current, PiiClassifier classifier, string field, string property)
    {
        var path = "properties." + property;
        var pii = classifier.ClassifyEventPath(path);
        return pii > current.Class ? new DerivedClass(pii, field, path) : current;
    }
}
