"""The pure billing domain: money, periods, proration, discounts, change rules, quote maths."""
