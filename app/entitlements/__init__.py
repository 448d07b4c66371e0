"""A victim's entitlements under the Victims' Code: the "Your rights" area of the portal."""
