"""Repairs (issue 10 §6): requests from any channel, wholesale partners included, with a
computed warranty, SLA clocks that pause on the customer, and parts booked in the ledger."""
