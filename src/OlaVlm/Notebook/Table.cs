using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Data.Analysis;

namespace OlaVlm.Notebook;

/// Any sequence of result records as a table, so a cell shows a result in one line: `Table.Of(measured.Bench)`.
/// One column per public property, in declaration order ([Browsable(false)] ones left out), headed by its [DisplayName]
/// or its name; numbers rounded
/// to `digits`, lists of numbers joined with spaces, anything else by ToString. An anonymous type picks and names the
/// columns: `Table.Of(rows.Select(r => new { model = r.Model, r.Mean }))`.
public static class Table
{
    public static DataFrame Of<T>(IEnumerable<T> rows, int digits = 3)
    {
        var list = rows.ToList();
        var props = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract" && p.GetCustomAttribute<BrowsableAttribute>()?.Browsable != false)
            .OrderBy(p => p.MetadataToken).ToList();
        if (props.Count == 0) throw new ArgumentException($"Table.Of: {typeof(T).Name} has no public properties to show");
        return new DataFrame(props.Select(p => Column(Header(p), p.PropertyType, list.Select(r => r is null ? null : p.GetValue(r)).ToList(), digits)));
    }

    static string Header(PropertyInfo p) => p.GetCustomAttribute<DisplayNameAttribute>()?.DisplayName ?? p.Name;

    static DataFrameColumn Column(string name, Type type, IReadOnlyList<object?> values, int digits)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(double) || t == typeof(float))
            return new DoubleDataFrameColumn(name, values.Select(v => v is null ? (double?)null : Math.Round(Convert.ToDouble(v, CultureInfo.InvariantCulture), digits)));
        if (t == typeof(int)) return new PrimitiveDataFrameColumn<int>(name, values.Select(v => (int?)v));
        if (t == typeof(long)) return new PrimitiveDataFrameColumn<long>(name, values.Select(v => (long?)v));
        return new StringDataFrameColumn(name, values.Select(v => Text(v, digits)));
    }

    /// A cell's text: numbers to `digits` places, booleans yes/no, sequences joined, the rest by ToString.
    public static string Text(object? v, int digits = 3) => v switch
    {
        null => "",
        string s => s,
        bool b => b ? "yes" : "no",
        double d => double.IsNaN(d) ? "n/a" : d.ToString("F" + digits, CultureInfo.InvariantCulture),
        float f => f.ToString("F" + digits, CultureInfo.InvariantCulture),
        IEnumerable e => string.Join(" ", e.Cast<object?>().Select(x => Text(x, digits))),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
