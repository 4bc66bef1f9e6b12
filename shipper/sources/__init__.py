"""shipper.sources"""
