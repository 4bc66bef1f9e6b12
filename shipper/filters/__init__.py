"""shipper.filters"""
